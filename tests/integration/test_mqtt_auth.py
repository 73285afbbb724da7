"""MQTT with MQTT_AUTH=on: no anonymous clients, a password per device, and an ACL that lets
a device publish only to its own topic - a spoofed topic never reaches the ingest. Devices and
services have separate listeners: a device can neither take a service account's name nor the
ingest's client id / persistent session, and no secret ever appears on a command line."""

from __future__ import annotations

import shutil
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from settings.stack import REPO_ROOT
from sources.mqtt_client import MqttConnection, connect_client, make_client
from tests.support.private_stack import PrivateStack, free_port

pytestmark = pytest.mark.integration
DEVICE_SCRIPT = REPO_ROOT / "services" / "mqtt_device.sh"
INGEST_ID = "ticktrack-ingest-0"  # INGEST_MQTT_CLIENT_ID_PREFIX + worker 0
INGEST_SUBSCRIPTION = "$share/ticktrack-ingest/fleet/+/telemetry"


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


def _argv_recorder(tmp: Path) -> dict[str, str]:
    """Shims that log the command line of every mosquitto_passwd and project-Python call."""
    bin_dir, log = tmp / "bin", tmp / "argv.log"
    bin_dir.mkdir()
    for name, real in (("mosquitto_passwd", shutil.which("mosquitto_passwd")), ("python", sys.executable)):
        shim = bin_dir / name
        shim.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "{name} $*" >> "{log}"\nexec "{real}" "$@"\n')
        shim.chmod(0o755)
    import os

    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "TICKTRACK_PYTHON": str(bin_dir / "python")}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateStack]:
    """A private Mosquitto with MQTT_AUTH=on, its command lines recorded in tmp_path/argv.log."""
    b = PrivateStack.create(tmp_path / "var")
    b.extra_env = {"MQTT_AUTH": "on", "MQTT_SERVICE_PORT": str(free_port()), **_argv_recorder(tmp_path)}
    b.up("mosquitto")
    try:
        yield b
    finally:
        b.down("mosquitto")


def add_device(broker: PrivateStack, vehicle_id: str) -> str:
    password = broker.run("add", vehicle_id, script=DEVICE_SCRIPT).strip()
    time.sleep(0.5)  # the broker reloads its password file on SIGHUP
    return password


def test_devices_publish_only_to_their_own_topic(broker: PrivateStack) -> None:
    ingest_url = broker.stack_env()["MQTT_URL"]
    assert "ticktrack-ingest:" in ingest_url
    d1 = add_device(broker, "d1")
    add_device(broker, "d2")
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
    dev.disconnect()
    dev.loop_stop()
    sub.disconnect()
    sub.loop_stop()
    assert received == ["fleet/d1/telemetry"] * 5


@pytest.mark.parametrize("name", ["ticktrack-ingest", "ticktrack-store", "TickTrack-Ingest", "admin", "mosquitto"])
def test_a_device_cannot_take_a_service_account_name(broker: PrivateStack, name: str) -> None:
    ingest_url = broker.stack_env()["MQTT_URL"]
    with pytest.raises(AssertionError, match="reserved"):
        broker.run("add", name, script=DEVICE_SCRIPT)
    time.sleep(0.5)
    assert connack(ingest_url) == "Success"  # the ingest's password was not replaced


class _Session:
    """A paho client that records CONNACKs, disconnects and messages; no automatic reconnect."""

    def __init__(self, url: str, client_id: str, *, clean_start: bool) -> None:
        conn = MqttConnection.from_url(url)
        self.client = make_client(conn, client_id)
        self.client.reconnect_delay_set(120, 120)
        self.connacks: list[tuple[str, bool]] = []
        self.disconnects = 0
        self.messages: list[bytes] = []
        self.subacks: list = []
        self.client.on_connect = lambda _c, _u, flags, reason, _p: self.connacks.append((str(reason), flags.session_present))
        self.client.on_disconnect = lambda *_a: setattr(self, "disconnects", self.disconnects + 1)
        self.client.on_message = lambda _c, _u, msg: self.messages.append(bytes(msg.payload))
        self.client.on_subscribe = lambda _c, _u, _m, codes, _p: self.subacks.extend(codes)
        connect_client(self.client, conn, clean_start=clean_start, session_expiry_s=3600)
        self.client.loop_start()
        deadline = time.monotonic() + 5
        while not self.connacks and time.monotonic() < deadline:
            time.sleep(0.02)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        deadline = time.monotonic() + 5
        while not self.subacks and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.subacks and not self.subacks[0].is_failure, self.subacks

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _publish(url: str, client_id: str, payloads: list[bytes]) -> None:
    conn = MqttConnection.from_url(url)
    client = make_client(conn, client_id)
    connect_client(client, conn, clean_start=True)
    client.loop_start()
    infos = [client.publish(f"fleet/{client_id}/telemetry", p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()
    assert all(i.is_published() for i in infos)


def test_a_device_cannot_take_over_the_ingest_session(broker: PrivateStack) -> None:
    """A device connecting with the ingest's client id neither kicks the ingest off, nor gets
    its messages, nor wipes the messages its persistent session keeps while it is away."""
    ingest_url = broker.stack_env()["MQTT_URL"]
    device_base = f"127.0.0.1:{broker.mqtt_port}"
    d1, d2 = add_device(broker, "d1"), add_device(broker, "d2")
    d1_url, d2_url = f"mqtt://d1:{d1}@{device_base}", f"mqtt://d2:{d2}@{device_base}"
    service_port = MqttConnection.from_url(ingest_url).port
    assert service_port != broker.mqtt_port, "services and devices must not share a listener"
    # Device credentials do not open the service listener at all.
    assert connack(f"mqtt://d2:{d2}@127.0.0.1:{service_port}") in ("Bad user name or password", "Not authorized")

    ingest = _Session(ingest_url, INGEST_ID, clean_start=False)
    assert ingest.connacks == [("Success", False)]
    ingest.subscribe(INGEST_SUBSCRIPTION)
    # Online: the device claims the ingest's client id (and subscribes to everything it may).
    thief = _Session(d2_url, INGEST_ID, clean_start=False)
    assert thief.connacks and thief.connacks[0][0] == "Success"
    thief.client.subscribe("#", qos=1)
    _publish(d1_url, "d1", [f"online-{i}".encode() for i in range(10)])
    time.sleep(1.5)
    assert ingest.disconnects == 0, "the device kicked the ingest off"
    assert sorted(ingest.messages) == sorted(f"online-{i}".encode() for i in range(10))
    assert thief.messages == []
    thief.close()
    ingest.close()

    # Offline: the session keeps messages; the device tries to resume it, then to wipe it.
    _publish(d1_url, "d1", [f"offline-{i}".encode() for i in range(10)])
    thief = _Session(d2_url, INGEST_ID, clean_start=False)
    time.sleep(1.5)
    assert thief.messages == []
    thief.close()
    _Session(d2_url, INGEST_ID, clean_start=True).close()
    ingest = _Session(ingest_url, INGEST_ID, clean_start=False)
    deadline = time.monotonic() + 10
    while len(ingest.messages) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    ingest.close()
    assert ingest.connacks == [("Success", True)]
    assert sorted(ingest.messages) == sorted(f"offline-{i}".encode() for i in range(10))


def test_no_secret_on_a_command_line_and_files_mode_600(broker: PrivateStack, tmp_path: Path) -> None:
    """mosquitto_passwd and the readiness check never get a password as an argument."""
    ingest_secret = MqttConnection.from_url(broker.stack_env()["MQTT_URL"]).password
    device_secret = add_device(broker, "d9")
    log = (tmp_path / "argv.log").read_text()
    assert "mosquitto_passwd" in log and "python" in log, log  # the recorder saw the calls
    assert ingest_secret and ingest_secret not in log
    assert device_secret and device_secret not in log
    var = broker.var_dir
    secrets = [var / "stack.env", var / "mosquitto" / "ingest.secret", var / "mosquitto" / "passwd",
               var / "mosquitto" / "services.passwd"]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in secrets} == {p.name: 0o600 for p in secrets}
    leftovers = [p.name for p in (var / "mosquitto").iterdir() if p.is_file() and p.name not in {s.name for s in secrets}
                 and p.suffix != ".conf"]
    assert leftovers == []  # no plain-text temporary file left behind
    # The hashes are mosquitto's PBKDF2-SHA512 format, never the password itself.
    for path in secrets[2:]:
        for line in path.read_text().splitlines():
            assert line.split(":", 1)[1].startswith("$7$"), (path.name, line.split(":", 1)[0])
