"""How long the fleet map and vehicle pages take to render with 1,000 vehicles and 24 h of data.

Not a timed test: it prints a table. Writes synthetic ``stats_1m`` (one point per vehicle per
minute), latest ``telemetry``, ``health`` and some ``alerts`` into a dedicated, short-lived
bucket of the real InfluxDB, points the dashboard at it, and renders pages with Streamlit's
AppTest. "cold" clears the query cache before each run (every query hits InfluxDB);
"warm" is what the next viewer within the cache TTL gets. The baseline is an empty page
rendered by AppTest in the same process, so the ratio is independent of the machine.

    .venv/bin/python bench/dashboard_render.py [--vehicles 1000] [--hours 24] [--runs 7] [--keep]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import streamlit as st  # noqa: E402
from influxdb_client import BucketRetentionRules, InfluxDBClient  # noqa: E402
from influxdb_client.client.write_api import SYNCHRONOUS  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from access.users import User, hash_password, save_users  # noqa: E402
from settings.stack import load_stack_settings  # noqa: E402

APP = REPO / "dashboard" / "app.py"
FLEETS = 10


def lines(vehicles: int, hours: int, now: datetime) -> Iterator[str]:
    """Line protocol, built directly (1.4 M Point objects would dominate the set-up time)."""
    end_min = int(now.timestamp()) // 60 * 60
    minutes = hours * 60
    for i in range(vehicles):
        vid, fleet = f"bv{i:04d}", f"bf{i % FLEETS}"
        tags = f"vehicle_id={vid},fleet_id={fleet}"
        lat, lon = 48.0 + (i % 40) * 0.02, 11.0 + (i // 40) * 0.02
        for m in range(minutes):
            t = (end_min - 60 * m) * 1000
            yield (f"stats_1m,{tags} samples=60i,speed_mean_kmh={30 + m % 40}.0,speed_max_kmh={50 + m % 40}.0,"
                   f"distance_km=0.5,rpm_mean=1800.0,coolant_max_c=92.0,fuel_last_pct={50 + m % 30}.0,"
                   f"battery_last_v=14.0,lat_last={lat},lon_last={lon},moving=true {t}")
        ts = int(now.timestamp() * 1000) - (i % 900) * 1000  # some vehicles offline
        yield (f"telemetry,{tags} lat={lat},lon={lon},speed_kmh={(i * 7) % 90}.0,ignition=true,rpm=1500.0,"
               f"coolant_temp_c=90.0,battery_v=14.1,fuel_level_pct=55.0,tire_fl_kpa=230.0,tire_fr_kpa=230.0,"
               f"tire_rl_kpa=228.0,tire_rr_kpa=229.0 {ts}")
        yield (f'health,{tags} status="ok",suggestions="",active_dtc="",next_service_km=12000.0,'
               f'next_service_date="2030-01-01",oil_life_pct=60.0 {ts}')
        if i % 20 == 0:
            yield (f'alerts,{tags},type=overspeed,severity=warning alert_id="b{i}",message="overspeed",'
                   f"value=120.0,threshold=100.0 {ts - 1000}")


def seed(client: InfluxDBClient, org: str, bucket: str, vehicles: int, hours: int) -> int:
    api = client.write_api(write_options=SYNCHRONOUS)
    batch: list[str] = []
    n = 0
    for line in lines(vehicles, hours, datetime.now(UTC)):
        batch.append(line)
        if len(batch) >= 50_000:
            api.write(bucket=bucket, org=org, record=batch, write_precision="ms")
            n += len(batch)
            batch = []
    if batch:
        api.write(bucket=bucket, org=org, record=batch, write_precision="ms")
        n += len(batch)
    return n


def signed_in(user: str, password: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.text_input(key="sign_in_name").set_value(user)
    at.text_input(key="sign_in_password").set_value(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def timed(render: Callable[[], AppTest], runs: int, cold: bool) -> list[float]:
    out = []
    for _ in range(runs):
        if cold:
            st.cache_data.clear()
        t0 = time.perf_counter()
        at = render()
        out.append(time.perf_counter() - t0)
        assert not at.exception, [e.value for e in at.exception]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the bench bucket")
    args = parser.parse_args()

    s = load_stack_settings()
    client = InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=120_000)
    if not client.ping():
        print(f"InfluxDB at {s.influx_url} unreachable", file=sys.stderr)
        return 2
    bucket_name = f"bench_dashboard_{uuid.uuid4().hex[:8]}"
    org_id = client.organizations_api().find_organizations(org=s.influx_org)[0].id
    bucket = client.buckets_api().create_bucket(bucket_name=bucket_name, org_id=org_id,
                                                retention_rules=BucketRetentionRules(type="expire", every_seconds=3 * 86400))
    try:
        t0 = time.perf_counter()
        n = seed(client, s.influx_org, bucket_name, args.vehicles, args.hours)
        print(f"seeded {n:,} points ({args.vehicles} vehicles x {args.hours} h of stats_1m) into {bucket_name} "
              f"in {time.perf_counter() - t0:.1f} s")

        tmp = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
        password = secrets.token_urlsafe(12)
        save_users(tmp / "users.json", {
            "admin": User("admin", "admin", hash_password(password, 4)),
            "manager": User("manager", "fleet_manager", hash_password(password, 4), fleets=("bf3",)),
        })
        os.environ.update({
            "INFLUX_BUCKET_FLEET": bucket_name, "INFLUX_READ_TOKEN": s.influx_token,  # the read token knows no bench bucket
            "DASHBOARD_USERS_FILE": str(tmp / "users.json"), "DASHBOARD_VEHICLES_FILE": str(tmp / "none.json"),
            "DASHBOARD_GEOFENCES_FILE": str(tmp / "none.geojson"), "DASHBOARD_LIVE_CONFIG": "false",
        })

        empty = AppTest.from_string("import streamlit as st\nst.title('empty')", default_timeout=60)
        cases: list[tuple[str, Callable[[], AppTest], bool]] = [("empty page (baseline)", lambda: empty.run(), False)]
        for user in ("admin", "manager"):
            at = signed_in(user, password)
            at.switch_page("pages/fleet_map.py").run()
            rows = len(at.dataframe[0].value)
            for cold in (True, False):
                cases.append((f"fleet map, {user} ({rows} vehicles), {'cold' if cold else 'warm'}",
                              (lambda at=at: at.switch_page("pages/fleet_map.py").run()), cold))
            vat = signed_in(user, password)
            vat.switch_page("pages/vehicle.py").run()
            for cold in (True, False):
                cases.append((f"vehicle page 24 h, {user}, {'cold' if cold else 'warm'}",
                              (lambda vat=vat: vat.switch_page("pages/vehicle.py").run()), cold))

        results = []
        for name, render, cold in cases:
            render()  # warm-up: imports, first compile of the page script
            times = timed(render, args.runs, cold)
            results.append((name, statistics.median(times), min(times), max(times)))
        base = results[0][1]
        print(f"\nmedian of {args.runs} runs each (AppTest, in-process; includes InfluxDB queries when cold)\n")
        print(f"{'page':52} {'median s':>9} {'min s':>7} {'max s':>7} {'x empty':>8}")
        for name, med, lo, hi in results:
            print(f"{name:52} {med:9.3f} {lo:7.3f} {hi:7.3f} {med / base:8.1f}")
    finally:
        if not args.keep:
            client.buckets_api().delete_bucket(bucket)
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
