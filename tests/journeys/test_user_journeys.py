"""What each user sees, with the system started the way ``make demo`` starts it.

The flows run as scripts/demo.sh runs them (ingest ``-w 2``; store, analytics, crypto and crypto
store with recovery), on this test's own Kafka topics and the session's own buckets. Vehicles
publish through the real Mosquitto; the simulated market goes through the real collector.
Then every role is asked through the dashboard's own page code (``dashboard.views`` and
``dashboard.data`` with that user's scope), and the answers are counted exactly:

- fleet manager: exactly the three vehicles of their fleet, each at its last published position,
  with the status and alert count the rules give;
- parent: exactly their car;
- admin: all four of this run's vehicles;
- trader: spreads of the simulated symbols, every exchange counted or excluded by a rule, and no fleet data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.telemetry import parse_telemetry
from dashboard import data
from dashboard.config import DashboardSettings
from dashboard.scope import Scope, scope_for
from dashboard.session import PageContext
from dashboard.users import User, hash_password
from dashboard.views import fleet_overview
from rules.fleet.config import FleetSettings
from settings.stack import REPO_ROOT
from tests.support.expected import expected_alerts
from tests.support.services import kafka_topics, publish, require_stack, running_flow, unique, write_registry

pytestmark = pytest.mark.integration
EXCHANGES = ("binance", "kraken", "coinbaseexchange")
SYMBOLS = ("BTC/USDT", "ETH/USDT")
SECONDS = 40  # of driving per vehicle, ending a few seconds ago
HASH = hash_password("journey-password", 4)  # the users are built as the users file builds them


@dataclass(frozen=True)
class Journey:
    run: str
    fleet: str
    family: str
    vans: tuple[str, ...]
    car: str
    last: dict[str, tuple[float, float]]  # last published position per vehicle
    alerting: dict[str, int]  # warning / critical alerts per vehicle the rules give
    settings: DashboardSettings

    @property
    def vehicles(self) -> set[str]:
        return {*self.vans, self.car}


def drive(vid: str, i: int, end_ms: int, overspeed: bool) -> list[tuple[str, bytes]]:
    """``SECONDS`` fixes, one a second, heading east at 50 km/h (130 for 15 s when ``overspeed``)."""
    msgs, lon = [], 13.30
    for t in range(SECONDS):
        speed = 130.0 if overspeed and 10 <= t < 25 else 50.0
        lon += speed / 3.6 / 68_000
        doc = {"vehicle_id": vid, "ts": end_ms - (SECONDS - t) * 1000, "lat": round(52.40 + i * 0.01, 6),
               "lon": round(lon, 7), "speed_kmh": speed, "ignition": True, "fuel_level_pct": 60.0, "battery_v": 14.1}
        msgs.append((f"fleet/{vid}/telemetry", json.dumps(doc).encode()))
    return msgs


def wait_for(what: str, probe: Callable[[], Any], ok: Callable[[Any], bool], timeout_s: float = 180.0) -> Any:
    """Poll the data layer (caches cleared) until ``ok(result)``; fail with the last answer."""
    deadline, got = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        data._run_live.clear()
        data._run_history.clear()
        got = probe()
        if ok(got):
            return got
        time.sleep(1.0)
    shown = got.to_dict("records") if hasattr(got, "to_dict") else got
    raise AssertionError(f"{what}: not seen within {timeout_s:.0f} s; last answer: {shown!r}")


def context(j: Journey, user: User) -> PageContext:
    return PageContext(j.settings, user, scope_for(user))


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    s = require_stack()
    tmp = tmp_path_factory.mktemp("journey")
    run = unique("jr")
    fleet, family = f"{run}-logistics", f"{run}-family"
    vans, car = tuple(f"{run}-van{i}" for i in range(3)), f"{run}-car"
    vehicles_file = write_registry(tmp / "vehicles.json", {fleet: list(vans), family: [car]})
    t = {k: f"{run}.{k}" for k in ("telemetry", "deadletter", "alerts", "trips", "points", "tickers", "spreads",
                                   "crypto-alerts", "crypto-deadletter", "crypto-points")}
    config_topic = f"{run}.config"
    env = {"INGEST_TELEMETRY_TOPIC": t["telemetry"], "INGEST_DEADLETTER_TOPIC": t["deadletter"],
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run,
           "STORE_TELEMETRY_TOPIC": t["telemetry"], "STORE_POINTS_TOPIC": t["points"], "STORE_DEADLETTER_TOPIC": t["deadletter"],
           "STORE_CONFIG_TOPIC": config_topic, "STORE_VEHICLES_FILE": str(vehicles_file),
           "ANALYTICS_TELEMETRY_TOPIC": t["telemetry"], "ANALYTICS_POINTS_TOPIC": t["points"],
           "ANALYTICS_ALERTS_TOPIC": t["alerts"], "ANALYTICS_TRIPS_TOPIC": t["trips"],
           "ANALYTICS_DEADLETTER_TOPIC": t["deadletter"], "ANALYTICS_CONFIG_TOPIC": config_topic,
           "ANALYTICS_VEHICLES_FILE": str(vehicles_file), "ANALYTICS_GEOFENCES_FILE": "",
           "CRYPTO_EXCHANGES": ",".join(EXCHANGES), "CRYPTO_SYMBOLS": ",".join(SYMBOLS),
           "CRYPTO_FLOW_TICKERS_TOPIC": t["tickers"], "CRYPTO_FLOW_SPREADS_TOPIC": t["spreads"],
           "CRYPTO_FLOW_ALERTS_TOPIC": t["crypto-alerts"], "CRYPTO_FLOW_DEADLETTER_TOPIC": t["crypto-deadletter"],
           "CRYPTO_FLOW_POINTS_TOPIC": t["crypto-points"], "CRYPTO_STORE_TICKERS_TOPIC": t["tickers"],
           "CRYPTO_STORE_POINTS_TOPIC": t["crypto-points"], "CRYPTO_STORE_DEADLETTER_TOPIC": t["crypto-deadletter"],
           "CRYPTO_FLOW_FROM_BEGINNING": "true"}

    def recovery(name: str) -> Path:
        d = tmp / f"recovery-{name}"
        d.mkdir()
        subprocess.run([sys.executable, "-m", "bytewax.recovery", str(d), "1"], check=True, cwd=REPO_ROOT)
        return d

    end_ms = int(time.time() * 1000)
    messages = [m for i, v in enumerate((*vans, car)) for m in drive(v, i, end_ms, overspeed=(v == vans[1]))]
    fixes = [parse_telemetry(topic, payload, end_ms) for topic, payload in messages]
    fixes.sort(key=lambda f: f.ts_ms)
    want = expected_alerts(fixes, str(vehicles_file), FleetSettings())
    alerting = Counter(a["vehicle_id"] for a in map(json.loads, want.values()) if a["severity"] in ("warning", "critical"))
    last = {f.vehicle_id: (f.lat, f.lon) for f in fixes}
    geofences_file = tmp / "geofences.geojson"
    geofences_file.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    settings = DashboardSettings(vehicles_file=vehicles_file, geofences_file=geofences_file, live_config=False)
    with ExitStack() as stack:
        stack.enter_context(kafka_topics(s, *t.values()))
        stack.enter_context(kafka_topics(s, config_topic, partitions=1, config={"cleanup.policy": "compact"}))
        ingest = stack.enter_context(running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2))
        for name, flow in (("store", "fleet_store"), ("analytics", "fleet_analytics"), ("crypto", "crypto_prices"),
                           ("crypto-store", "crypto_store")):
            stack.enter_context(running_flow(f"dataflows.{flow}:build_flow()", env, recovery_dir=recovery(name)))
        ingest.wait_for_log('"event": "mqtt_subscribed"', count=2, timeout_s=120)
        collector = subprocess.Popen(
            [sys.executable, "-m", "collectors.ccxt_collector", "--simulated", "yes", "--out", "kafka",
             "--exchanges", ",".join(EXCHANGES), "--symbols", ",".join(SYMBOLS), "--poll-interval", "1",
             "--duration", "30", "--tickers-topic", t["tickers"], "--deadletter-topic", t["crypto-deadletter"]],
            cwd=REPO_ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        publish(s.mqtt_url, messages)
        yield Journey(run, fleet, family, vans, car, last, dict(alerting), settings)
        collector.wait(timeout=120)


def ours(df, j: Journey):
    return df[df["vehicle_id"].str.startswith(j.run)]


def test_fleet_manager_sees_exactly_their_fleet_with_positions_status_and_alerts(journey: Journey) -> None:
    j = journey
    manager = User("m", "fleet_manager", HASH, fleets=(j.fleet,))

    def settled(df) -> bool:
        return set(df["vehicle_id"]) == set(j.vans) and all(
            (round(r.lat, 6), round(r.lon, 7)) == j.last[r.vehicle_id] and r.alerts == j.alerting.get(r.vehicle_id, 0)
            for r in df.itertuples())

    df = wait_for(f"manager's map (want positions {j.last}, alerts {j.alerting})",
                  lambda: fleet_overview(context(j, manager))[0], settled)
    assert len(df) == 3 and set(df["fleet_id"]) == {j.fleet}
    assert j.alerting.get(j.vans[1], 0) >= 1, "the overspeeding van raises an alert"
    statuses = dict(zip(df["vehicle_id"], df["status"], strict=True))
    assert statuses[j.vans[1]] == "alerting"
    assert {statuses[v] for v in (j.vans[0], j.vans[2])} <= {"moving", "idle"}, statuses  # fresh fixes: never offline
    alerts = wait_for("manager's alerts", lambda: data.alerts(scope_for(manager), timedelta(hours=1), None, 500),
                      lambda a: len(a) >= sum(j.alerting.values()))
    assert set(alerts["vehicle_id"]) <= set(j.vans)


def test_parent_sees_exactly_their_car(journey: Journey) -> None:
    j = journey
    parent = User("p", "parent", HASH, vehicles=(j.car,))
    df = wait_for("parent's map", lambda: fleet_overview(context(j, parent))[0], lambda d: len(d) == 1)
    assert list(df["vehicle_id"]) == [j.car]
    assert (round(df["lat"][0], 6), round(df["lon"][0], 7)) == j.last[j.car]
    assert df["status"][0] != "offline"


def test_admin_sees_every_vehicle(journey: Journey) -> None:
    j = journey
    admin = User("a", "admin", HASH)
    df = wait_for("admin's map", lambda: ours(fleet_overview(context(j, admin))[0], j), lambda d: len(d) == 4)
    assert set(df["vehicle_id"]) == j.vehicles
    assert dict(zip(df["vehicle_id"], df["fleet_id"], strict=True)) == {**{v: j.fleet for v in j.vans}, j.car: j.family}


def test_trader_sees_spreads_of_every_symbol_and_no_fleet_data(journey: Journey) -> None:
    j = journey
    trader = scope_for(User("t", "trader", HASH))
    syms = wait_for("trader's symbols", lambda: data.symbols(trader, timedelta(minutes=30)), lambda x: set(SYMBOLS) <= set(x))
    assert set(SYMBOLS) <= set(syms)
    for symbol in SYMBOLS:
        sp = wait_for(f"spreads of {symbol}", lambda: data.spreads(trader, symbol, timedelta(minutes=30), None, 500),
                      lambda d: len(d) > 0)
        # every exchange is either in the best bid / ask or excluded by a rule (stale, outlier)
        assert ((sp["exchanges_counted"] + sp["exchanges_excluded"]) == len(EXCHANGES)).all()
        assert (sp["exchanges_counted"] >= 2).all() and (sp["best_bid"] > 0).all() and (sp["best_ask"] > 0).all()
    assert data.latest_positions(trader, timedelta(hours=1)).empty
    assert not trader.sees_fleet_data and Scope(prices=True) == trader
