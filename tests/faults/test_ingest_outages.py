"""The ingest under fire: killed with unacknowledged messages in flight, and Kafka gone for 90 s.

Both on a private Mosquitto (so the count is exactly this test's messages) and the ingest
started as the demo starts it (``-w 2``). At-least-once is the promise: every published fix
reaches Kafka; a duplicate after a crash is allowed (counted and printed), a loss is not.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from contracts.avro import decode
from contracts.telemetry import parse_timestamp_ms
from settings.stack import load_stack_settings
from simulators.vehicles import fleet
from tests.support.private_stack import PrivateStack
from tests.support.services import consume, kafka_topics, publish, read_to_end, require_stack, running_flow, unique

pytestmark = pytest.mark.faults
KAFKA_OUTAGE_S = float(os.environ.get("FAULT_KAFKA_OUTAGE_S", "90"))


def batches(sims, start_ms: int, fixes: int) -> list[list[tuple[str, bytes]]]:
    """One list of messages per second of driving: a fix of every vehicle."""
    return [[(f"fleet/{v.vehicle_id}/telemetry", json.dumps(v.step(1.0, start_ms + k * 1000)).encode()) for v in sims]
            for k in range(fixes)]


def fix_keys(records: list) -> list[tuple[str, int]]:
    return [(r["vehicle_id"], r["ts_ms"]) for r in (decode("telemetry", m.value()) for m in records)]


def wanted(msgs: list[list[tuple[str, bytes]]]) -> set[tuple[str, int]]:
    return {(json.loads(p)["vehicle_id"], parse_timestamp_ms(json.loads(p)["ts"])) for b in msgs for _, p in b}


def test_kill9_of_the_ingest_loses_no_acknowledged_message(tmp_path) -> None:
    s = require_stack()
    broker = PrivateStack.create(tmp_path / "var")
    broker.up("mosquitto")
    run = unique("ik")
    topic, dl = f"{run}.telemetry", f"{run}.dl"
    sims = fleet(20, seed=9, prefix=run)
    stream = batches(sims, int(time.time() * 1000) - 3_600_000, 100)  # 2,000 fixes
    want = wanted(stream)
    env = {"MQTT_URL": broker.mqtt_url, "INGEST_TELEMETRY_TOPIC": topic, "INGEST_DEADLETTER_TOPIC": dl,
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run}
    try:
        with kafka_topics(s, topic, dl):
            with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2) as first:
                first.wait_for_log('"event": "mqtt_subscribed"', count=2)
                publisher = threading.Thread(target=lambda: [publish(broker.mqtt_url, b) for b in stream])
                publisher.start()
                consume(s, topic, lambda m: len(m) >= 300, timeout_s=60, settle_s=0)
                first.kill9()  # mid-stream: messages in the flow's queue are not acknowledged yet
            before_restart = len(read_to_end(s, topic))
            publisher.join()
            with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2):
                records = consume(s, topic, lambda m: want <= set(fix_keys(m)), timeout_s=120, settle_s=3)
    finally:
        broker.down("mosquitto")
    keys = fix_keys(records)
    print(f"kill -9 of the ingest: {len(want)} published, {before_restart} in Kafka at the kill, "
          f"{len(keys)} records after restart, {len(keys) - len(set(keys))} duplicates")
    assert before_restart < len(want), "the ingest was killed mid-stream"
    assert set(keys) == want, "every acknowledged fix reaches Kafka, none invented"


def test_ingest_waits_out_a_kafka_outage(tmp_path) -> None:
    require_stack()
    private = PrivateStack.create(tmp_path / "var")
    private.up("mosquitto", "kafka")
    ks = load_stack_settings().model_copy(update={"kafka_bootstrap": private.kafka_bootstrap})
    run = unique("ko")
    topic, dl = f"{run}.telemetry", f"{run}.dl"
    sims = fleet(10, seed=4, prefix=run)
    before, during = batches(sims, int(time.time() * 1000) - 3_600_000, 10), batches(sims, int(time.time() * 1000) - 1_800_000, 30)
    env = {"MQTT_URL": private.mqtt_url, "KAFKA_BOOTSTRAP": private.kafka_bootstrap, "INGEST_TELEMETRY_TOPIC": topic,
           "INGEST_DEADLETTER_TOPIC": dl, "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run}
    try:
        with kafka_topics(ks, topic, dl):
            with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2) as ingest:
                ingest.wait_for_log('"event": "mqtt_subscribed"', count=2)
                for b in before:
                    publish(private.mqtt_url, b)
                assert len(consume(ks, topic, lambda m: len(m) >= 100, timeout_s=60, settle_s=1)) == 100
                private.down("kafka")
                for b in during:  # acknowledged by the broker while Kafka is away
                    publish(private.mqtt_url, b)
                time.sleep(KAFKA_OUTAGE_S)
                assert ingest.proc.poll() is None, "the ingest waits for Kafka instead of dying"
                private.up("kafka")
                records = consume(ks, topic, lambda m: len(set(fix_keys(m))) >= 400, timeout_s=180, settle_s=3)
    finally:
        private.down("mosquitto", "kafka")
    keys = fix_keys(records)
    print(f"Kafka down {KAFKA_OUTAGE_S:.0f} s: 400 published, {len(keys)} records, {len(keys) - len(set(keys))} duplicates")
    assert set(keys) == wanted(before) | wanted(during), "every fix published during the outage reaches Kafka"
