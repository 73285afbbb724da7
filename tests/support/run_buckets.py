"""Per-run InfluxDB buckets, so that no test writes into the buckets the demo reads.

``tests/conftest.py`` points ``INFLUX_BUCKET_FLEET`` / ``INFLUX_BUCKET_CRYPTO`` of the whole
test session (and of every flow process a test starts, which inherits the environment) at two
buckets made for this run, and deletes them when the session ends. The demo's buckets are
watched meanwhile: ``foreign_series`` names series that appeared in them during the run and
that the demo itself cannot have written - a test that leaked data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from influxdb_client import BucketRetentionRules, InfluxDBClient

from rules.crypto.config import DEFAULT_SYMBOLS
from settings.stack import REPO_ROOT, StackSettings

RETENTION_DAYS = {"fleet": 90, "crypto": 30}  # as services/stack.sh creates the demo's buckets


@dataclass(frozen=True)
class RunBuckets:
    """The demo's bucket names and this run's own."""

    demo_fleet: str
    demo_crypto: str
    fleet: str
    crypto: str


def demo_series(s: StackSettings, buckets: RunBuckets) -> set[str]:
    """Every ``vehicle_id`` of the demo's fleet bucket and ``symbol`` of its crypto bucket."""
    flux = '''import "influxdata/influxdb/schema"
schema.tagValues(bucket: b, tag: t, start: -400d)'''
    found: set[str] = set()
    with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=60_000) as c:
        api = c.query_api()
        for bucket, tag in ((buckets.demo_fleet, "vehicle_id"), (buckets.demo_crypto, "symbol")):
            for table in api.query(flux, params={"b": bucket, "t": tag}):
                found.update(f"{bucket}:{tag}={r.get_value()}" for r in table.records)
    return found


def demo_may_write() -> set[str]:
    """What the demo itself writes: the registry's vehicles and the simulated market's symbols."""
    vehicles = json.loads((REPO_ROOT / "config" / "vehicles.json").read_text())["vehicles"]
    return {f"vehicle_id={v['id']}" for v in vehicles} | {f"symbol={sym}" for sym in DEFAULT_SYMBOLS}


def foreign_series(before: set[str], after: set[str]) -> list[str]:
    """Series new in the demo's buckets that the demo cannot have written."""
    allowed = demo_may_write()
    return sorted(x for x in after - before if x.split(":", 1)[1] not in allowed)


def create(s: StackSettings, buckets: RunBuckets) -> None:
    with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=30_000) as c:
        api = c.buckets_api()
        for name, kind in ((buckets.fleet, "fleet"), (buckets.crypto, "crypto")):
            if api.find_bucket_by_name(name) is None:
                rule = BucketRetentionRules(type="expire", every_seconds=RETENTION_DAYS[kind] * 86400)
                api.create_bucket(bucket_name=name, org=s.influx_org, retention_rules=rule)


def delete(s: StackSettings, buckets: RunBuckets) -> None:
    with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=30_000) as c:
        api = c.buckets_api()
        for name in (buckets.fleet, buckets.crypto):
            found = api.find_bucket_by_name(name)
            if found is not None:
                api.delete_bucket(found)
