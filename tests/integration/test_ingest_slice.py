"""First slice end to end through the real broker, Kafka and InfluxDB.

Publish 300 valid and 48 malformed messages over MQTT; find exactly the 300 in Kafka (Avro,
keyed by vehicle) and in InfluxDB (by vehicle id and time, each tagged with its fleet from the
registry: what a fleet manager's queries filter on), and every malformed one in the dead-letter
topic with its reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest

from contracts.avro import decode
from contracts.telemetry import parse_timestamp_ms
from simulators.vehicles import fleet
from tests.support.services import (
    consume,
    device_topic,
    influx_query,
    kafka_topics,
    publish,
    require_stack,
    running_flow,
    store_flow_topics,
    unique,
    write_registry,
)

pytestmark = pytest.mark.integration

VEHICLES, FIXES = 10, 30


def malformed(run: str) -> list[tuple[str, bytes, str]]:
    """(topic, payload, expected reason fragment) for every kind of bad input."""
    def topic(i: int) -> str:
        return f"fleet/{run}-bad{i}/telemetry"

    def doc(i: int, **over) -> bytes:
        d = {"vehicle_id": f"{run}-bad{i}", "ts": "2026-11-25T10:00:00Z", "lat": 52.5, "lon": 13.4, "speed_kmh": 10}
        d.update(over)
        return json.dumps({k: v for k, v in d.items() if v is not ...}).encode()

    cases = [
        lambda i: (topic(i), b"{not json", "payload is not JSON"),
        lambda i: (topic(i), b"\xff\xfe\x00garbage", "payload is not UTF-8"),
        lambda i: (topic(i), b"[1, 2, 3]", "not a JSON object"),
        lambda i: (topic(i), doc(i, lat=...), "lat: required field missing"),
        lambda i: (topic(i), doc(i, lat=95.0), "lat:"),
        lambda i: (topic(i), doc(i, lon=-200), "lon:"),
        lambda i: (topic(i), doc(i, speed_kmh=-5), "speed_kmh:"),
        lambda i: (topic(i), doc(i, speed_kmh="fast"), "speed_kmh: must be a number"),
        lambda i: (topic(i), doc(i, ts="2026-11-25T10:00:00"), "without a time zone"),
        lambda i: (topic(i), doc(i, ts="yesterday"), "ts: not ISO 8601"),
        lambda i: (topic(i), doc(i, vehicle_id="someone-else"), "does not match topic"),
        lambda i: (topic(i), doc(i).replace(b'"speed_kmh": 10', b'"speed_kmh": 10, "rpm": NaN'), "rpm:"),
        lambda i: (topic(i), doc(i, ignition="yes"), "ignition:"),
        lambda i: (topic(i), doc(i, dtc="P0301"), "dtc:"),
        lambda i: (topic(i), doc(i, tire_pressure_kpa={"fl": "low"}), "tire_pressure_kpa.fl:"),
        lambda i: (topic(i), doc(i, note="x" * 70_000), "exceeds"),
    ]
    return [cases[i % len(cases)](i) for i in range(3 * len(cases))]


def test_valid_to_kafka_and_influx_malformed_to_deadletter(tmp_path) -> None:
    s = require_stack()
    run = unique("it")
    telemetry_topic, deadletter_topic = f"{run}.telemetry", f"{run}.deadletter"
    sims = fleet(VEHICLES, seed=7, prefix=run)
    start_ms = int(time.time() * 1000) - FIXES * 1000
    valid = [(f"fleet/{v.vehicle_id}/telemetry", json.dumps(v.step(1.0, start_ms + k * 1000)).encode())
             for k in range(FIXES) for v in sims]
    expected = {(json.loads(p)["vehicle_id"], parse_timestamp_ms(json.loads(p)["ts"])) for _, p in valid}
    bad = malformed(run)
    assert len(expected) == VEHICLES * FIXES == 300 and len(bad) == 48

    env = {"INGEST_TELEMETRY_TOPIC": telemetry_topic, "INGEST_DEADLETTER_TOPIC": deadletter_topic,
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run,
           "STORE_TELEMETRY_TOPIC": telemetry_topic}
    with kafka_topics(s, telemetry_topic, deadletter_topic):
        with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2) as ingest:
            ingest.wait_for_log('"event": "mqtt_subscribed"', count=2)
            mixed = valid[:150] + [(t, p) for t, p, _ in bad] + valid[150:]
            publish(s.mqtt_url, mixed)
            # The flow hears every publisher on the shared broker: keep only this run's messages.
            def ours(msgs: list) -> list:
                return [m for m in msgs if run in m.key().decode()]

            records = ours(consume(s, telemetry_topic, lambda m: len(ours(m)) >= 300))
            letters = ours(consume(s, deadletter_topic, lambda m: len(ours(m)) >= 48))

        got = [(m.key().decode(), decode("telemetry", m.value())) for m in records]
        assert all(key == rec["vehicle_id"] for key, rec in got)
        assert len(got) == 300, "exactly the valid messages, no duplicates"
        assert {(r["vehicle_id"], r["ts_ms"]) for _, r in got} == expected

        dead = [json.loads(m.value()) for m in letters]
        assert len(dead) == 48
        by_topic: dict[str, list[dict]] = {}
        for d in dead:
            by_topic.setdefault(d["source_topic"], []).append(d)
        for t, payload, reason in bad:
            (d,) = by_topic[device_topic(t)]  # the MQTT topic it came on, root included
            assert reason in d["reason"], (t, d["reason"])
            assert d["received_at"].endswith("Z")
            assert d["payload_bytes"] == len(payload) and d["payload_sha256"] == hashlib.sha256(payload).hexdigest()
            if d["payload_truncated"]:  # over 64 KiB: the first KiB only
                assert len(payload) > 65536 and d["payload"].encode() == payload[:1024]
            elif d["payload_encoding"] == "utf-8":
                assert d["payload"].encode() == payload
            else:
                assert base64.b64decode(d["payload"]) == payload

        fleets = {f"{run}-even": [v.vehicle_id for v in sims[0::2]], f"{run}-odd": [v.vehicle_id for v in sims[1::2]]}
        fleet_of = {v: f for f, vs in fleets.items() for v in vs}
        with store_flow_topics(s, run, write_registry(tmp_path / "vehicles.json", fleets)) as store_env, \
                running_flow("dataflows.fleet_store:build_flow()", {**env, **store_env}):
            rows: list[dict] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(rows) < 300:
                time.sleep(1)
                rows = influx_query(s, f'''
                    import "strings"
                    from(bucket: "{s.influx_bucket_fleet}") |> range(start: -1h)
                      |> filter(fn: (r) => r._measurement == "telemetry" and r._field == "speed_kmh")
                      |> filter(fn: (r) => strings.hasPrefix(v: r.vehicle_id, prefix: "{run}"))
                      |> group()''')
        points = {(r["vehicle_id"], int(r["_time"].timestamp() * 1000)) for r in rows}
        assert len(rows) == 300
        assert points == expected
        assert {(r["vehicle_id"], r.get("fleet_id")) for r in rows} == set(fleet_of.items())


def test_two_process_cluster_splits_the_stream_without_duplicates() -> None:
    """Scaling out: the ingest as a 2-process Bytewax cluster (2 workers each) shares one MQTT
    shared subscription; every fix reaches Kafka exactly once."""
    from tests.support.private_stack import free_port

    s = require_stack()
    run = unique("cl")
    topic = f"{run}.telemetry"
    sims = fleet(8, seed=9, prefix=run)
    start_ms = int(time.time() * 1000) - 100_000
    messages = [(f"fleet/{v.vehicle_id}/telemetry", json.dumps(v.step(1.0, start_ms + k * 1000)).encode())
                for k in range(50) for v in sims]
    addresses = f"127.0.0.1:{free_port()};127.0.0.1:{free_port()}"
    env = {"INGEST_TELEMETRY_TOPIC": topic, "INGEST_DEADLETTER_TOPIC": f"{run}.dl",
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run}
    with kafka_topics(s, topic, f"{run}.dl", partitions=6):
        with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2, cluster=(0, addresses)) as p0, \
             running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2, cluster=(1, addresses)) as p1:
            p0.wait_for_log('"event": "mqtt_subscribed"', count=2)
            p1.wait_for_log('"event": "mqtt_subscribed"', count=2)
            publish(s.mqtt_url, messages)
            records = [m for m in consume(s, topic, lambda m: len([x for x in m if run in x.key().decode()]) >= 400)
                       if run in m.key().decode()]
        keys = [(r["vehicle_id"], r["ts_ms"]) for r in (decode("telemetry", m.value()) for m in records)]
        assert len(keys) == 400 and len(set(keys)) == 400
        log0, log1 = p0.log_path.read_text(), p1.log_path.read_text()
        clients = {c for c in (f"{run}-{i}" for i in range(4)) if c in log0 + log1}
        assert clients == {f"{run}-0", f"{run}-1", f"{run}-2", f"{run}-3"}, "4 workers, 4 MQTT sessions"
