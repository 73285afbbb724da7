"""What Mosquitto's save-on-every-change costs, against the time-based save it replaced.

``services/mosquitto/mosquitto.conf.tmpl`` sets ``autosave_on_changes true`` + ``autosave_interval 1``
so a kill -9 loses no acknowledged QoS 1 message of an offline persistent session
(tests/faults/test_mqtt_broker_kill.py). Every save writes the whole in-memory database, so the
cost grows with what is queued. For each setting this starts a private broker from the template
(only the autosave lines swapped) and measures:

- offline: a persistent session subscribed, then away; N QoS 1 messages published as fast as
  the broker acknowledges them (msg/s); broker killed with SIGKILL, restarted; how many arrive.
- online: the subscriber connected; N messages published as fast as possible; msg/s until the
  last one arrived.

    .venv/bin/python bench/mosquitto_autosave.py [--offline 500,5000,20000] [--online 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, write_result  # noqa: E402
from sources.mqtt_client import MqttConnection, connect_client, make_client  # noqa: E402

TEMPLATE = REPO / "services" / "mosquitto" / "mosquitto.conf.tmpl"
SETTINGS = {"on_changes_1": "autosave_on_changes true\nautosave_interval 1\n",
            "interval_10s": "autosave_on_changes false\nautosave_interval 10\n"}
PAYLOAD = b"x" * 300  # about one telemetry fix


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A private mosquitto from the template with the autosave lines replaced."""

    def __init__(self, autosave: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-mosquitto-"))
        (self.dir / "mosquitto" / "data").mkdir(parents=True)
        (self.dir / "logs").mkdir()
        self.port = _free_port()
        lines = [line for line in TEMPLATE.read_text().splitlines() if not line.startswith(("autosave_interval", "autosave_on_changes"))]
        text = "\n".join(lines) + "\n" + autosave
        text = (text.replace("@VAR@", str(self.dir)).replace("@PORT@", str(self.port)).replace("@HOST@", "127.0.0.1")
                .replace("@USER@", os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()))
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(text)
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start, see {self.dir}/logs")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self.proc.wait()

    def remove(self) -> None:
        self.signal(signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)


def _subscriber(url: str, got: list[bytes], subscribe: bool) -> object:
    conn = MqttConnection.from_url(url)
    client = make_client(conn, "bench-durable")
    ready: list = []
    client.on_connect = lambda _c, _u, flags, _r, _p: ready.append(flags.session_present)
    client.on_subscribe = lambda *_a: ready.append("suback")
    client.on_message = lambda _c, _u, msg: got.append(msg.payload)
    connect_client(client, conn, clean_start=False, session_expiry_s=3600)
    client.loop_start()
    while not ready:
        time.sleep(0.01)
    if subscribe:
        client.subscribe("bench/t", qos=1)
        while "suback" not in ready:
            time.sleep(0.01)
    return client


def _publish(url: str, n: int) -> float:
    conn = MqttConnection.from_url(url)
    pub = make_client(conn, "bench-pub")
    connect_client(pub, conn, clean_start=True)
    pub.loop_start()
    while not pub.is_connected():
        time.sleep(0.01)
    t0 = time.monotonic()
    infos = [pub.publish("bench/t", PAYLOAD, qos=1) for _ in range(n)]
    for info in infos:
        info.wait_for_publish(timeout=600)
    elapsed = time.monotonic() - t0
    pub.disconnect()
    pub.loop_stop()
    return elapsed


def offline(setting: str, n: int) -> dict:
    b = Broker(SETTINGS[setting])
    b.start()
    got: list[bytes] = []
    sub = _subscriber(b.url, got, subscribe=True)
    sub.disconnect()
    sub.loop_stop()
    b.signal(signal.SIGUSR1)  # the session itself saved, as a long-lived one would be
    time.sleep(0.5)
    elapsed = _publish(b.url, n)
    b.signal(signal.SIGKILL)
    b.start()
    sub = _subscriber(b.url, got, subscribe=False)
    last, since = -1, time.monotonic()
    while time.monotonic() - since < 3:
        if len(got) != last:
            last, since = len(got), time.monotonic()
        time.sleep(0.1)
    sub.disconnect()
    sub.loop_stop()
    b.remove()
    return {"setting": setting, "queued": n, "publish_msg_s": round(n / elapsed), "arrived_after_kill9": len(got)}


def online(setting: str, n: int) -> dict:
    b = Broker(SETTINGS[setting])
    b.start()
    got: list[bytes] = []
    sub = _subscriber(b.url, got, subscribe=True)
    t0 = time.monotonic()
    _publish(b.url, n)
    while len(got) < n and time.monotonic() - t0 < 600:
        time.sleep(0.01)
    elapsed = time.monotonic() - t0
    sub.disconnect()
    sub.loop_stop()
    b.remove()
    return {"setting": setting, "messages": n, "received": len(got), "msg_s": round(len(got) / elapsed)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--offline", default="500,5000,20000", help="queued messages per offline run [500,5000,20000]")
    ap.add_argument("--online", type=int, default=10000, help="messages of the online run [10000]")
    args = ap.parse_args()
    rows = [offline(s, int(n)) for n in args.offline.split(",") for s in SETTINGS]
    live = [online(s, args.online) for s in SETTINGS]
    print("| setting | queued (offline) | publish msg/s | arrived after kill -9 |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['setting']} | {r['queued']:,} | {r['publish_msg_s']:,} | {r['arrived_after_kill9']:,} |")
    print("\n| setting | messages (online) | msg/s through one subscriber |\n|---|---|---|")
    for r in live:
        print(f"| {r['setting']} | {r['messages']:,} | {r['msg_s']:,} |")
    print(f"result: {write_result('mosquitto_autosave', {'offline': rows, 'online': live})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
