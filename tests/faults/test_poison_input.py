"""Poison input through the real broker, the real ingest process and Kafka: each bad message
ends as exactly one dead letter with the expected reason, every good one in the telemetry
topic, and the flow keeps running (good messages after the poison still arrive).

A private Mosquitto started from services/mosquitto/mosquitto.conf.tmpl, so its
``message_size_limit`` (256 KiB) is the one under test: a 200 KB payload reaches the ingest and
becomes a bounded dead letter; a 1.5 MB one is refused by the broker - Mosquitto 2.0 closes an
MQTT 5 publisher's connection, and acknowledges then drops it for MQTT 3.1.1 - and reaches
neither topic.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from contracts.avro import decode
from contracts.telemetry import parse_timestamp_ms
from sources.mqtt_client import MqttConnection, connect_client, make_client
from tests.support.private_stack import PrivateStack
from tests.support.services import consume, kafka_topics, require_stack, running_flow, unique

pytestmark = pytest.mark.faults
GOOD = 60


def publish_with_reasons(url: str, messages: list[tuple[str, bytes]]) -> list[int]:
    """Publish at QoS 1, one after the other; the PUBACK reason code of each."""
    conn = MqttConnection.from_url(url)
    client = make_client(conn, unique("poison-pub"))
    reasons: dict[int, int] = {}
    acked = threading.Condition()

    def on_publish(_c, _u, mid, reason_code, _p) -> None:  # noqa: ANN001 - paho callback
        with acked:
            reasons[mid] = reason_code.value
            acked.notify_all()

    client.on_publish = on_publish
    connect_client(client, conn, clean_start=True)
    client.loop_start()
    try:
        codes = []
        for topic, payload in messages:
            info = client.publish(topic, payload, qos=1)
            with acked:
                assert acked.wait_for(lambda mid=info.mid: mid in reasons, timeout=30), f"no PUBACK for {topic}"
            codes.append(reasons[info.mid])
        return codes
    finally:
        client.disconnect()
        client.loop_stop()


def publish_over_the_limit(url: str, topic: str, payload: bytes) -> tuple[str, str]:
    """Publish one message over the broker's limit as an MQTT 5 and as an MQTT 3.1.1 client:
    (how the v5 session ended, the v3.1.1 PUBACK)."""
    conn = MqttConnection.from_url(url)
    outcome: dict[str, str] = {}
    done = threading.Event()
    v5 = make_client(conn, unique("poison-v5"))
    v5.on_disconnect = lambda _c, _u, _f, rc, _p: (outcome.setdefault("v5", str(rc)), done.set())
    v5.on_publish = lambda _c, _u, _m, rc, _p: (outcome.setdefault("v5", f"PUBACK {rc}"), done.set())
    connect_client(v5, conn, clean_start=True)
    v5.loop_start()
    v5.publish(topic, payload, qos=1)
    assert done.wait(30), "the broker neither acknowledged nor closed"
    v5.loop_stop()
    v5.disconnect()
    v3 = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=unique("poison-v3"), protocol=mqtt.MQTTv311)
    v3.connect(conn.host, conn.port)
    v3.loop_start()
    info = v3.publish(topic, payload, qos=1)
    info.wait_for_publish(timeout=30)
    v3.disconnect()
    v3.loop_stop()
    return outcome["v5"], "acknowledged" if info.is_published() else "not acknowledged"


def matches(text: str, pattern: str) -> bool:
    """``pattern`` with ``*`` for any text (no other wildcard: reasons hold ``?`` and brackets)."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return text == pattern
    if not (text.startswith(parts[0]) and text.endswith(parts[-1])):
        return False
    at = len(parts[0])
    for part in parts[1:-1]:
        at = text.find(part, at)
        if at < 0:
            return False
        at += len(part)
    return at <= len(text) - len(parts[-1])


def fix(vid: str, ts: object, **extra: object) -> bytes:
    return json.dumps({"vehicle_id": vid, "ts": ts, "lat": 52.5, "lon": 13.4, "speed_kmh": 30.0, **extra}).encode()


def test_poison_ends_as_dead_letters_with_reasons_and_the_flow_goes_on(tmp_path) -> None:
    s = require_stack()
    broker = PrivateStack.create(tmp_path / "var")
    broker.up("mosquitto")
    run = unique("poison")
    now = int(time.time() * 1000)
    good = [(f"fleet/{run}-g{i % 6}/telemetry",
             fix(f"{run}-g{i % 6}", now - (GOOD - i) * 1000 if i % 2 else
                 time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((now - (GOOD - i) * 1000) // 1000)) + "Z"))
            for i in range(GOOD)]
    big = fix(f"{run}-p6", now, pad="x" * 200_000)
    lp_id = f"{run}-a,b=c d"  # line-protocol characters in the id
    # (topic, payload, expected reason: exact, or prefix ending in "*")
    poison = [
        (f"fleet/{run}-p0/telemetry", fix(f"{run}-p0", "0001-01-01T00:00:00+01:00"),
         "ts: '0001-01-01T00:00:00+01:00' is outside 1970..3000"),
        (f"fleet/{run}-p1/telemetry", fix(f"{run}-p1", "9999-12-31T23:59:59Z"), "ts: '9999-12-31T23:59:59Z' is outside 1970..3000"),
        (f"fleet/{run}-p2/telemetry", fix(f"{run}-p2", 0), "ts: 1970-01-01T00:00:00.000Z is more than 90 days before arrival *"),
        (f"fleet/{run}-p3/telemetry", fix(f"{run}-p3", now // 1000), "ts: 1970-*(epoch seconds? ts is in milliseconds)"),
        (f"fleet/{run}-p4/telemetry", fix(f"{run}-p4", now + 86_400_000), "ts: *is more than 300 s after arrival *"),
        (f"fleet/{run}-p5/telemetry", fix(f"{run}-p5", 10**400), "ts: epoch milliseconds out of range: 1000*"),
        (f"fleet/{run}-p6/telemetry", big, f"payload of {len(big)} bytes exceeds 65536"),
        (f"fleet/{lp_id}/telemetry", fix(lp_id, now), "vehicle_id: String should match pattern *"),
        (f"fleet/{run}-p8/telemetry", fix(f"{run}-p8", now, rpm="NaN"), "rpm: *"),
        (f"fleet/{run}-p9/telemetry", b"\xff\xfe" + b"\x00" * 100, "payload is not UTF-8"),
        (f"fleet/{run}-p10/telemetry", fix(f"{run}-p10", True), "ts: must be ISO 8601 with zone or epoch milliseconds"),
    ]
    huge = (f"fleet/{run}-p11/telemetry", fix(f"{run}-p11", now, pad="y" * 1_500_000))
    topics = (f"{run}.telemetry", f"{run}.dl")
    env = {"MQTT_URL": broker.mqtt_url, "INGEST_TELEMETRY_TOPIC": topics[0], "INGEST_DEADLETTER_TOPIC": topics[1],
           "INGEST_MQTT_TOPIC_FILTER": "fleet/+/telemetry", "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run,
           "INGEST_MQTT_TOPIC_ROOT": ""}  # a private broker: the devices' own topics, as they come
    try:
        with kafka_topics(s, *topics):
            with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2) as flow:
                flow.wait_for_log('"event": "mqtt_subscribed"', count=2)
                codes = publish_with_reasons(broker.mqtt_url, good[: GOOD // 2] + [(t, p) for t, p, _ in poison])
                refused = publish_over_the_limit(broker.mqtt_url, *huge)
                codes += publish_with_reasons(broker.mqtt_url, good[GOOD // 2 :])
                ok = consume(s, topics[0], lambda m: len(m) >= GOOD, timeout_s=60, settle_s=2)
                dead = consume(s, topics[1], lambda m: len(m) >= len(poison), timeout_s=30, settle_s=3)
                assert flow.proc.poll() is None, "the ingest is still running after the poison"
    finally:
        broker.down("mosquitto")

    # The broker admitted everything but the 1.5 MB message, which it refused in both protocols.
    assert codes == [0] * (GOOD + len(poison))
    assert refused == ("Protocol error", "acknowledged"), refused

    records = [decode("telemetry", m.value()) for m in ok]
    assert len(records) == GOOD, "exactly the good messages, the ones after the poison included"
    assert sorted((r["vehicle_id"], r["ts_ms"]) for r in records) == sorted(
        (json.loads(p)["vehicle_id"], parse_timestamp_ms(json.loads(p)["ts"])) for _, p in good)

    letters = {m.key().decode(): json.loads(m.value()) for m in dead}
    assert len(dead) == len(poison) == len(letters), "exactly one dead letter per poison message, none for the refused one"
    for topic, payload, expected in poison:
        d = letters[topic]
        assert matches(d["reason"], expected), (topic, d["reason"], expected)
        assert d["source_topic"] == topic and d["payload_bytes"] == len(payload)
        assert d["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    d = letters[f"fleet/{run}-p6/telemetry"]
    assert d["payload_truncated"] is True and d["payload"] == big[:1024].decode()
    assert huge[0] not in letters

