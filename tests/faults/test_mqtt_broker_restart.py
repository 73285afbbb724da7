"""MQTT broker restart and ingest restart: the source reconnects, the persistent session
delivers what was queued while the flow was away, nothing is lost or duplicated."""

from __future__ import annotations

import json
import time

import pytest

from contracts.avro import decode
from simulators.vehicles import fleet
from tests.support.private_stack import PrivateStack
from tests.support.services import consume, kafka_topics, publish, require_stack, running_flow, unique

pytestmark = pytest.mark.faults


def batch(sims, start_ms: int, fixes: int) -> list[tuple[str, bytes]]:
    return [(f"fleet/{v.vehicle_id}/telemetry", json.dumps(v.step(1.0, start_ms + k * 1000)).encode())
            for k in range(fixes) for v in sims]


def test_broker_restart_and_flow_restart_lose_nothing(tmp_path) -> None:
    s = require_stack()
    broker = PrivateStack.create(tmp_path / "var")
    broker.up("mosquitto")
    run = unique("mq")
    topic = f"{run}.telemetry"
    sims = fleet(5, seed=3, prefix=run)
    t0 = int(time.time() * 1000) - 3_600_000
    a, b, c, d = (batch(sims, t0 + i * 100_000, 20) for i in range(4))  # 4 x 100 distinct fixes
    env = {"MQTT_URL": broker.mqtt_url, "INGEST_TELEMETRY_TOPIC": topic, "INGEST_DEADLETTER_TOPIC": f"{run}.dl",
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run}
    try:
        with kafka_topics(s, topic, f"{run}.dl"):
            with running_flow("dataflows.fleet_ingest:build_flow()", env) as flow:
                flow.wait_for_log('"event": "mqtt_subscribed"')
                publish(broker.mqtt_url, a)
                assert len(consume(s, topic, lambda m: len(m) >= 100, settle_s=0.5)) == 100
            # The flow is gone; its persistent session keeps B for it, across a broker restart.
            publish(broker.mqtt_url, b)
            broker.down("mosquitto")
            broker.up("mosquitto")
            with running_flow("dataflows.fleet_ingest:build_flow()", env) as flow:
                assert len(consume(s, topic, lambda m: len(m) >= 200, settle_s=0.5)) == 200
                flow.wait_for_log('"event": "mqtt_subscribed"')
                publish(broker.mqtt_url, c)
                assert len(consume(s, topic, lambda m: len(m) >= 300, settle_s=0.5)) == 300
                # Broker restart while the flow runs: paho reconnects with backoff, session resumes.
                broker.down("mosquitto")
                broker.up("mosquitto")
                flow.wait_for_log('"event": "mqtt_subscribed"', count=2, timeout_s=60)
                publish(broker.mqtt_url, d)
                records = consume(s, topic, lambda m: len(m) >= 400, timeout_s=90)
            keys = [(r["vehicle_id"], r["ts_ms"]) for r in (decode("telemetry", m.value()) for m in records)]
            assert len(keys) == 400, "every fix exactly once"
            assert len(set(keys)) == 400
    finally:
        broker.down("mosquitto")
