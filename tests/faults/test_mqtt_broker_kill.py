"""Mosquitto killed with SIGKILL: QoS 1 messages the broker acknowledged for an offline
persistent session must survive, which they do only when the broker saved them before the
kill (``autosave_on_changes true`` + ``autosave_interval 1`` in services/mosquitto/mosquitto.conf.tmpl).
Measured with the default time-based ``autosave_interval 10``: 0 of 500 arrived (3 of 3 runs).

Mosquitto saves in its main loop after a change, which can come after the PUBACK went out: a kill
right after the last PUBACK may lose the newest message (seen once, 499 of 500, in a fresh-clone
CI run of 2026-12-02; 500 of 500 in the other runs; the maintainer confirms there is no strict
order between save and PUBACK, eclipse-mosquitto/mosquitto#1855). So the test holds the broker to what it
promises: every message but the newest save cycle's (one change) arrives, in order, none twice."""

from __future__ import annotations

import os
import signal
import time

import pytest

from sources.mqtt_client import MqttConnection, connect_client, make_client
from tests.support.private_stack import PrivateStack

pytestmark = pytest.mark.faults
MESSAGES = 500
TOPIC = "durability/t"


class _Subscriber:
    """A persistent-session subscriber (clean_start false from its first connect: mosquitto writes
    only such sessions to its persistence file)."""

    def __init__(self, url: str) -> None:
        conn = MqttConnection.from_url(url)
        self.client = make_client(conn, "durable-subscriber")
        self.client.reconnect_delay_set(120, 120)
        self.connacks: list[tuple[str, bool]] = []
        self.subacks: list = []
        self.payloads: list[bytes] = []
        self.client.on_connect = lambda _c, _u, flags, reason, _p: self.connacks.append((str(reason), flags.session_present))
        self.client.on_subscribe = lambda _c, _u, _m, codes, _p: self.subacks.extend(codes)
        self.client.on_message = lambda _c, _u, msg: self.payloads.append(bytes(msg.payload))
        connect_client(self.client, conn, clean_start=False, session_expiry_s=3600)
        self.client.loop_start()
        _wait(lambda: bool(self.connacks), 10, "CONNACK")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _wait(cond, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout_s} s")
        time.sleep(0.02)


def test_acknowledged_messages_of_an_offline_session_survive_kill_9(tmp_path) -> None:
    broker = PrivateStack.create(tmp_path / "var")
    broker.up("mosquitto")
    try:
        sub = _Subscriber(broker.mqtt_url)
        sub.client.subscribe(TOPIC, qos=1)
        _wait(lambda: bool(sub.subacks), 10, "SUBACK")
        assert not sub.subacks[0].is_failure
        sub.close()
        # The session exists long before the burst (as the ingest's does): have it saved now
        # (SIGUSR1 = save the in-memory database), so the test measures the messages alone.
        os.kill(broker.pid("mosquitto"), signal.SIGUSR1)
        time.sleep(0.5)

        conn = MqttConnection.from_url(broker.mqtt_url)
        pub = make_client(conn, "durability-publisher")
        connect_client(pub, conn, clean_start=True)
        pub.loop_start()
        infos = [pub.publish(TOPIC, str(i).encode(), qos=1) for i in range(MESSAGES)]
        for info in infos:
            info.wait_for_publish(timeout=60)
        assert all(info.is_published() for info in infos), "every message acknowledged (PUBACK)"
        broker.kill9("mosquitto")  # right after the last PUBACK
        pub.loop_stop()

        broker.up("mosquitto")
        sub = _Subscriber(broker.mqtt_url)
        deadline = time.monotonic() + 30
        while sub.connacks[0][1] and len(sub.payloads) < MESSAGES and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # anything beyond the 500 (a duplicate) would arrive now
        sub.close()
        assert sub.connacks == [("Success", True)], "the persistent session survived the kill"
        arrived = [int(p) for p in sub.payloads]
        print(f"arrived after kill -9: {len(arrived)} of {MESSAGES}")
        assert len(arrived) >= MESSAGES - 1, f"{len(arrived)} of {MESSAGES} acknowledged messages arrived"
        assert sorted(arrived) == list(range(len(arrived))), "only the newest may be lost, nothing twice"
    finally:
        broker.down("mosquitto")
