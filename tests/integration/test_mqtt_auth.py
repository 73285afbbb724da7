"""MQTT with MQTT_AUTH=on: no anonymous clients, a password per device, and an ACL that lets
a device publish only to its own topic - a spoofed topic never reaches the ingest."""

from __future__ import annotations

import time

import pytest

from settings.stack import REPO_ROOT
from sources.mqtt import MqttConnection, connect_client, make_client
from tests.support.private_stack import PrivateStack

pytestmark = pytest.mark.integration
DEVICE_SCRIPT = REPO_ROOT / "services" / "mqtt_device.sh"


def connack(url: str) -> str:
    """Connect and return the broker's CONNACK reason as text."""
    conn = MqttConnection.from_url(url)
    client = make_client(conn, f"probe-{time.monotonic_ns()}")
    client.reconnect_delay_set(60, 60)
    reasons: list = []
    client.on_connect = lambda _c, _u, _f, reason, _p: reasons.append(str(reason))
    connect_client(client, conn, clean_start=True)
    client.loop_start()
    deadline = time.monotonic() + 5
    while not reasons and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    return reasons[0] if reasons else "no answer"


def test_devices_publish_only_to_their_own_topic(tmp_path) -> None:
    broker = PrivateStack.create(tmp_path / "var")
    broker.extra_env = {"MQTT_AUTH": "on"}
    broker.up("mosquitto")
    try:
        ingest_url = broker.stack_env()["MQTT_URL"]
        assert "ticktrack-ingest:" in ingest_url
        d1 = broker.run("add", "d1", script=DEVICE_SCRIPT).strip()
        broker.run("add", "d2", script=DEVICE_SCRIPT)
        time.sleep(0.5)  # the broker reloads its password file on SIGHUP
        base = f"127.0.0.1:{broker.mqtt_port}"
        assert connack(f"mqtt://{base}") == "Not authorized"
        assert connack(f"mqtt://d1:wrong@{base}") in ("Bad user name or password", "Not authorized")
        assert connack(f"mqtt://d1:{d1}@{base}") == "Success"

        received: list[str] = []
        conn = MqttConnection.from_url(ingest_url)
        sub = make_client(conn, "ingest-probe")
        sub.on_message = lambda _c, _u, msg: received.append(msg.topic)
        subscribed: list = []
        sub.on_subscribe = lambda _c, _u, _m, codes, _p: subscribed.extend(codes)
        connect_client(sub, conn, clean_start=True)
        sub.subscribe("$share/ingest/fleet/+/telemetry", qos=1)
        sub.loop_start()

        dev_conn = MqttConnection.from_url(f"mqtt://d1:{d1}@{base}")
        dev = make_client(dev_conn, "d1")
        connect_client(dev, dev_conn, clean_start=True)
        dev.loop_start()
        time.sleep(1)
        assert subscribed and not subscribed[0].is_failure
        infos = [dev.publish("fleet/d1/telemetry", b"{}", qos=1) for _ in range(5)]
        infos += [dev.publish("fleet/d2/telemetry", b"{}", qos=1) for _ in range(5)]  # spoofing d2
        for info in infos:
            info.wait_for_publish(timeout=10)
        time.sleep(1.5)
        dev.disconnect(); dev.loop_stop(); sub.disconnect(); sub.loop_stop()
        assert received == ["fleet/d1/telemetry"] * 5
    finally:
        broker.down("mosquitto")
