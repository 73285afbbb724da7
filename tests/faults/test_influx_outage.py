"""InfluxDB down for a while: the store flow retries with backoff, keeps memory bounded,
reports the outage in its log instead of crashing, and loses nothing when InfluxDB returns."""

from __future__ import annotations

import json
import os
import time

import pytest
from confluent_kafka import Producer

from contracts.avro import TELEMETRY_SCHEMA_HEADER, encode
from contracts.telemetry import parse_telemetry, to_avro_record
from simulators.vehicles import fleet
from tests.support.private_stack import PrivateStack
from tests.support.services import kafka_topics, require_stack, running_flow, unique

pytestmark = pytest.mark.faults
OUTAGE_S = float(os.environ.get("FAULT_INFLUX_OUTAGE_S", "60"))


def produce_fixes(kafka_config: dict, topic: str, sims, start_ms: int, fixes: int) -> int:
    producer = Producer({**kafka_config, "log_level": 3})
    n = 0
    for k in range(fixes):
        for v in sims:
            payload = json.dumps(v.step(1.0, start_ms + k * 1000)).encode()
            t = parse_telemetry(f"fleet/{v.vehicle_id}/telemetry", payload, start_ms)
            producer.produce(topic, encode("telemetry", to_avro_record(t)), v.vehicle_id.encode(), headers=[TELEMETRY_SCHEMA_HEADER])
            n += 1
    assert producer.flush(30) == 0
    return n


def rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def count_points(db: PrivateStack, run: str) -> int:
    from influxdb_client import InfluxDBClient

    creds = db.credentials()
    with InfluxDBClient(url=db.influx_url, token=creds["INFLUX_TOKEN"], org="ticktrack") as c:
        tables = c.query_api().query(f'''import "strings"
            from(bucket: "fleet") |> range(start: -1d)
              |> filter(fn: (r) => r._measurement == "telemetry" and r._field == "speed_kmh")
              |> filter(fn: (r) => strings.hasPrefix(v: r.vehicle_id, prefix: "{run}"))
              |> group() |> count()''')
        return sum(r.get_value() for t in tables for r in t.records)


def wait_points(db: PrivateStack, run: str, expected: int, timeout_s: float) -> int:
    deadline, got = time.monotonic() + timeout_s, -1
    while time.monotonic() < deadline:
        got = count_points(db, run)
        if got >= expected:
            break
        time.sleep(1)
    return got


def test_store_flow_waits_out_an_influx_outage(tmp_path) -> None:
    s = require_stack()
    db = PrivateStack.create(tmp_path / "var")
    db.up("influxdb")
    run = unique("ifx")
    topic = f"{run}.telemetry"
    sims = fleet(10, seed=5, prefix=run)
    t0 = int(time.time() * 1000) - 3_600_000
    env = {"INFLUX_URL": db.influx_url, "INFLUX_WRITE_TOKEN": db.credentials()["INFLUX_WRITE_TOKEN"],
           "STORE_TELEMETRY_TOPIC": topic}
    try:
        with kafka_topics(s, topic):
            with running_flow("dataflows.fleet_store:build_flow()", env) as flow:
                produce_fixes(s.kafka_config(), topic, sims, t0, 20)
                assert wait_points(db, run, 200, 60) == 200
                rss_before = rss_kb(flow.proc.pid)

                db.down("influxdb")
                produce_fixes(s.kafka_config(), topic, sims, t0 + 100_000, 300)  # 3,000 fixes during the outage
                time.sleep(OUTAGE_S)
                assert flow.proc.poll() is None, "the flow must wait, not crash"
                log = flow.log_path.read_text()
                assert '"event": "influx_write_retry"' in log
                growth_mb = (rss_kb(flow.proc.pid) - rss_before) / 1024
                assert growth_mb < 150, f"memory grew {growth_mb:.0f} MB during the outage"

                db.up("influxdb")
                assert wait_points(db, run, 3_200, 120) == 3_200
                flow.wait_for_log('"event": "influx_write_recovered"')
            time.sleep(2)
            assert count_points(db, run) == 3_200, "nothing lost, nothing extra"
    finally:
        db.down("influxdb")
