"""kill -9 the analytics flow mid-stream, restart it from its recovery store: it resumes from the
committed snapshot and replays what came after it (the test checks both), every alert the
pure rules produce for the input arrives, replays carry the same ids and bytes (so consumers
deduplicate exactly), and InfluxDB (written by the store flow from the points topic) holds each
alert once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from confluent_kafka import Producer

from contracts.avro import TELEMETRY_SCHEMA_HEADER, encode
from contracts.telemetry import Telemetry, parse_telemetry, to_avro_record
from settings.rules_env import load_fleet_settings
from tests.support.expected import expected_alerts
from tests.support.services import consume, influx_query, kafka_topics, require_stack, running_flow, unique

pytestmark = pytest.mark.faults
# 36 x 900 fixes: enough that the flow is still reading when the recovery store has committed a
# snapshot (with 12 vehicles an idle machine ran the whole input before epoch 2: "killed mid-stream" failed)
VEHICLES, SECONDS = 36, 900
RULES_ENV = {"FLEET_OFFLINE_TIMEOUT_S": "100000"}  # offline depends on wall-clock arrival: keep it out


def speed_at(t: int, phase: int) -> float:
    """A 120 s cycle: cruise 60, overspeed 130 for 30 s, back to 60, hard brake to 10, speed up."""
    c = (t + phase) % 120
    if c < 60:
        return 60.0
    if c < 90:
        return 130.0
    if c < 100:
        return 60.0
    if c < 102:
        return 60.0 - 25.0 * (c - 99)
    return 10.0 + (c - 101) * 1.5


def drive(run: str, start_ms: int) -> list[Telemetry]:
    fixes = []
    for v in range(VEHICLES):
        vid, lat, lon = f"{run}-v{v:02d}", 52.40 + v * 0.01, 13.30
        for t in range(SECONDS):
            speed = speed_at(t, v * 7)
            lon += speed / 3.6 / 68_000  # metres east -> degrees at this latitude
            doc = {"vehicle_id": vid, "ts": start_ms + t * 1000, "lat": lat, "lon": round(lon, 7), "speed_kmh": speed,
                   "ignition": True, "rpm": 800 + speed * 30, "coolant_temp_c": 90.0, "battery_v": 14.0}
            fixes.append(parse_telemetry(f"fleet/{vid}/telemetry", json.dumps(doc).encode(), start_ms + t * 1000))
    return fixes


def commit_epoch(recovery: Path) -> int:
    """The newest epoch the Bytewax recovery store committed (1 = none yet)."""
    with closing(sqlite3.connect(recovery / "part-0.sqlite3", timeout=5)) as db:
        row = db.execute("SELECT MAX(commit_epoch) FROM commits").fetchone()
    return int(row[0] or 1)


def resume_epoch(recovery: Path) -> int:
    """The epoch the last execution resumed from (bytewax's ``exs`` table)."""
    with closing(sqlite3.connect(recovery / "part-0.sqlite3", timeout=5)) as db:
        return int(db.execute("SELECT resume_epoch FROM exs ORDER BY ex_num DESC LIMIT 1").fetchone()[0])


def test_kill9_and_recover_loses_and_duplicates_nothing(tmp_path, monkeypatch) -> None:
    s = require_stack()
    run = unique("crash")
    vehicles_file = tmp_path / "vehicles.json"
    vehicles_file.write_text(json.dumps({"fleets": [{"id": f"{run}-fleet", "name": "crash test", "speed_limit_kmh": 100}],
                                         "vehicles": [{"id": f"{run}-v{v:02d}", "name": f"v{v}", "fleet_id": f"{run}-fleet"}
                                                      for v in range(VEHICLES)]}))
    for k, v in RULES_ENV.items():
        monkeypatch.setenv(k, v)
    start_ms = int(time.time() * 1000) - 2 * 3_600_000
    fixes = drive(run, start_ms)
    expected = expected_alerts(fixes, str(vehicles_file), load_fleet_settings())
    types = sorted({json.loads(j)["type"] for j in expected.values()})
    assert {"overspeed", "overspeed_end", "harsh_braking"} <= set(types)
    assert len(expected) > 150

    topics = {k: f"{run}.{k}" for k in ("telemetry", "alerts", "trips", "dl", "config", "points")}
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    subprocess.run([sys.executable, "-m", "bytewax.recovery", str(recovery), "1"], check=True)
    env = {**RULES_ENV, "ANALYTICS_TELEMETRY_TOPIC": topics["telemetry"], "ANALYTICS_ALERTS_TOPIC": topics["alerts"],
           "ANALYTICS_TRIPS_TOPIC": topics["trips"], "ANALYTICS_DEADLETTER_TOPIC": topics["dl"],
           "ANALYTICS_CONFIG_TOPIC": topics["config"], "ANALYTICS_VEHICLES_FILE": str(vehicles_file),
           "ANALYTICS_GEOFENCES_FILE": "", "ANALYTICS_FROM_BEGINNING": "true", "ANALYTICS_TICK_INTERVAL_S": "1",
           "ANALYTICS_POINTS_TOPIC": topics["points"], "STORE_POINTS_TOPIC": topics["points"],
           "STORE_TELEMETRY_TOPIC": topics["telemetry"], "STORE_DEADLETTER_TOPIC": topics["dl"],
           "STORE_CONFIG_TOPIC": topics["config"], "STORE_VEHICLES_FILE": str(vehicles_file)}
    with kafka_topics(s, *topics.values()):
        producer = Producer({**s.kafka_config(), "log_level": 3})
        # stamped as the ingest stamps a live stream (arrival = receive time, 200 ms after the fix): the
        # flow catches up on two hours of it. (All stamped at the instant of this loop, every vehicle's
        # 900 fixes "arrived together": the reorder buffer holds such a burst until it waited the hold,
        # the flow read all of it before releasing any, and the kill left no input for the restart.)
        for f in fixes:
            producer.produce(topics["telemetry"], encode("telemetry", to_avro_record(f)), f.vehicle_id.encode(),
                             headers=[TELEMETRY_SCHEMA_HEADER], timestamp=f.ts_ms + 200)
        assert producer.flush(60) == 0

        with running_flow("dataflows.fleet_analytics:build_flow()", env, recovery_dir=recovery) as flow:
            # mid-stream, and after the recovery store committed a snapshot (else a restart is a start over)
            partial = consume(s, topics["alerts"], lambda m: len(m) >= len(expected) // 3 and commit_epoch(recovery) >= 2,
                              timeout_s=120, settle_s=0)
            flow.kill9()
        at_kill = consume(s, topics["alerts"], lambda m: True, timeout_s=30, settle_s=3)  # all it wrote before dying
        assert len(partial) <= len(at_kill) < len(expected), "killed mid-stream"

        with running_flow("dataflows.fleet_analytics:build_flow()", env, recovery_dir=recovery) as restarted, \
                running_flow("dataflows.fleet_store:build_flow()", env):
            def complete(msgs) -> bool:
                return expected.keys() <= {json.loads(m.value())["alert_id"] for m in msgs}
            records = consume(s, topics["alerts"], complete, timeout_s=240, settle_s=5)
            def stored_ids() -> list[str]:
                rows = influx_query(s, f'''import "strings"
                    from(bucket: "{s.influx_bucket_fleet}") |> range(start: -1d)
                      |> filter(fn: (r) => r._measurement == "alerts" and r._field == "alert_id")
                      |> filter(fn: (r) => strings.hasPrefix(v: r.vehicle_id, prefix: "{run}"))
                      |> group()''')
                return [r["_value"] for r in rows if r["_value"] in expected]

            deadline = time.monotonic() + 60
            while len(set(stored_ids())) < len(expected) and time.monotonic() < deadline:
                time.sleep(1)
            ids = stored_ids()
        if not complete(records):  # say what is missing before the assertions below fail
            got = {json.loads(m.value())["alert_id"] for m in records}
            missing = [json.loads(expected[k]) for k in expected.keys() - got]
            by_type: dict[str, int] = {}
            for a in missing:
                by_type[a["type"]] = by_type.get(a["type"], 0) + 1
            print(f"after restart: {len(records)} alert records read, {len(partial)} before the kill; "
                  f"missing {len(missing)} of {len(expected)} by type {by_type}; "
                  f"vehicles {sorted({a['vehicle_id'] for a in missing})}; earliest missing ts "
                  f"{min(a['ts'] for a in missing) - start_ms} ms after start; flow log {restarted.log_path}")

        # a replay happened: the restart resumed from the committed snapshot (bytewax's resume epoch),
        # not from the start of the topic, and replayed the input from that snapshot's offsets to the
        # end (the alerts after the kill). Alerts the dead process wrote after its last snapshot come
        # again, byte-identical (checked below); how many depends on where the kill fell.
        resume = resume_epoch(recovery)
        after_restart = len(records) - len(at_kill)
        replayed = len(records) - len({json.loads(m.value())["alert_id"] for m in records})
        print(f"killed after {len(at_kill)} alert records; resumed at epoch {resume}; {after_restart} records "
              f"after the restart, {replayed} of them replays of alerts written before the kill")
        assert resume >= 2, "the restart resumed from a committed snapshot"
        assert 0 < after_restart < len(expected), "it replayed from the snapshot: not nothing, not from the beginning"

        seen: dict[str, str] = {}
        for m in records:
            alert = m.value().decode()
            alert_id = json.loads(alert)["alert_id"]
            assert seen.setdefault(alert_id, alert) == alert, "a replayed alert must be byte-identical"
        device = {k for k, v in seen.items() if json.loads(v)["type"] in ("device_offline", "device_online")}
        assert set(seen) - device == set(expected), "no alert lost, none invented"
        assert {k: seen[k] for k in expected} == expected

        assert len(ids) == len(set(ids)) == len(expected), "each alert exactly once in InfluxDB"
