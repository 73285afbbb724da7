"""Fuzzed telemetry through the real broker, ingest flow and Kafka: every message ends in
fleet.telemetry or the dead-letter topic (with a reason) - none lost, none crashes the flow."""

from __future__ import annotations

import json
import random
import time

import pytest

from contracts.telemetry import InvalidTelemetry, parse_telemetry
from tests.support.services import consume, kafka_topics, publish, require_stack, running_flow, unique

pytestmark = pytest.mark.faults
N = 400
NASTY = [None, True, "12", "NaN", float("nan"), float("inf"), -1, 10**30, [], {}, [1, 2], {"x": "y"}, "x" * 5000]


def fuzz(run: str, i: int, rng: random.Random, start_ms: int) -> tuple[str, bytes]:
    """A valid fix, then one mutation: a nasty field value, a spoofed id, bad bytes, nesting or size."""
    vid = f"{run}-fz{i:03d}"
    doc = {"vehicle_id": vid, "ts": start_ms + i, "lat": 52.5, "lon": 13.4, "speed_kmh": 50.0, "rpm": 2000.0}
    kind = rng.randrange(8)
    if kind == 0:
        doc[rng.choice(list(doc))] = rng.choice(NASTY)
    elif kind == 1:
        doc["vehicle_id"] = rng.choice([f"{run}-other", "v1", "", "+", "#", vid + "/x"])
    elif kind == 2:
        raw = bytearray(json.dumps(doc).encode())
        raw[rng.randrange(len(raw))] = rng.choice([0xFF, 0xC3, 0x80])
        return f"fleet/{vid}/telemetry", bytes(raw)
    elif kind == 3:
        doc["extra"] = json.loads("[" * 50 + "]" * 50) if rng.random() < 0.5 else "[" * rng.randrange(10, 100_000)
    elif kind == 4:
        return f"fleet/{vid}/telemetry", json.dumps(doc).encode()[: rng.randrange(1, 40)]
    elif kind == 5:
        doc["tire_pressure_kpa"] = {"fl": rng.choice(NASTY + [230.0])}
    # kinds 6 and 7: left valid
    return f"fleet/{vid}/telemetry", json.dumps(doc, allow_nan=True).encode()


def test_every_fuzzed_message_ends_somewhere() -> None:
    s = require_stack()
    run = unique("fz")
    rng = random.Random(20261125)
    start_ms = int(time.time() * 1000) - 60_000  # within the contract's bounds of the arrival time
    messages = [fuzz(run, i, rng, start_ms) for i in range(N)]
    valid = set()
    for topic, payload in messages:
        try:
            valid.add(parse_telemetry(topic, payload).vehicle_id)
        except InvalidTelemetry:
            pass
    assert 100 < len(valid) < N - 100, "the mix must hold both outcomes"
    topics = (f"{run}.telemetry", f"{run}.dl")
    env = {"INGEST_TELEMETRY_TOPIC": topics[0], "INGEST_DEADLETTER_TOPIC": topics[1],
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run}
    with kafka_topics(s, *topics):
        with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2) as flow:
            flow.wait_for_log('"event": "mqtt_subscribed"', count=2)
            publish(s.mqtt_url, messages)

            def ours(msgs: list) -> list:
                return [m for m in msgs if run in m.key().decode(errors="replace")]

            ok = ours(consume(s, topics[0], lambda m: len(ours(m)) >= len(valid), settle_s=1))
            dead = ours(consume(s, topics[1], lambda m: len(ours(m)) >= N - len(valid), settle_s=3))
    assert {m.key().decode() for m in ok} == valid and len(ok) == len(valid)
    reasons = [json.loads(m.value())["reason"] for m in dead]
    assert len(dead) == N - len(valid) and all(reasons)
