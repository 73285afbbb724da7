"""Notifier end to end: real Kafka, a real HTTP webhook receiver and a real SMTP server.

Alerts (with replays of the same alert_id, an invalid record, a too-old alert and a webhook
that answers 503 twice) go through ``python -m notifier`` as a real process. Each recipient
gets exactly its alerts, once. Restarting on the same group sends only what is new, and a
full replay of the topic under a new group sends nothing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from confluent_kafka import Consumer, Producer, TopicPartition

from settings.stack import REPO_ROOT, StackSettings
from tests.support.services import kafka_topics, require_stack, unique

pytestmark = pytest.mark.integration

PARTITIONS = 3


class Webhooks:
    """A webhook receiver: records POSTs per path; /flaky fails its first 2 requests, /gone is 410."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict, dict[str, str]]] = []  # accepted (path, body, headers)
        self.requests: Counter[str] = Counter()  # every request, accepted or not
        self.down: set[str] = set()  # paths answering 503 for now
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.requests[self.path] += 1
                    n = outer.requests[self.path]
                    status = 503 if self.path in outer.down or (self.path == "/flaky" and n <= 2) else 410 if self.path == "/gone" else 200
                    if status == 200:
                        outer.received.append((self.path, json.loads(body), dict(self.headers)))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def ids(self, path: str) -> list[str]:
        with self.lock:
            return [body["alert_id"] for p, body, _ in self.received if p == path]

    def __enter__(self) -> Webhooks:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """aiosmtpd handler: keeps every accepted message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def ids(self, address: str) -> list[str]:
        return [m["X-Ticktrack-Alert-Id"] for rcpt, m in list(self.messages) if address in rcpt]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def notifier(env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """``python -m notifier`` as a real process; stopped with SIGTERM, must exit 0."""
    log_path = REPO_ROOT / "var" / "logs" / f"test-{unique('notifier')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "notifier"], cwd=REPO_ROOT, env={**os.environ, **env},
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc
            if proc.returncode == -signal.SIGKILL:  # the test killed it on purpose
                return
            assert proc.poll() is None, f"notifier exited early with {proc.returncode}; log: {log_path}"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, f"notifier did not stop cleanly; log: {log_path}"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def all_committed(s: StackSettings, group: str, topic: str) -> bool:
    """Whether ``group`` committed every partition of ``topic`` up to its end."""
    c = Consumer({**s.kafka_config(), "group.id": group, "enable.auto.commit": "false", "log_level": 2})
    try:
        for tp in c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10):
            _, high = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            if high > 0 and tp.offset != high:
                return False
        return True
    finally:
        c.close()


def wait_for(cond: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def produce(s: StackSettings, topic: str, records: list[tuple[str, bytes]]) -> None:
    p = Producer({**s.kafka_config(), "acks": "all", "log_level": 2})
    for key, value in records:
        p.produce(topic, value, key.encode())
    assert p.flush(30) == 0


def test_each_alert_reaches_each_recipient_once(tmp_path: Path) -> None:
    s = require_stack()
    run = unique("notif")
    topic = f"{run}.alerts"
    v1, v2, v3 = f"{run}-v1", f"{run}-v2", f"{run}-v3"
    fleet_a, fleet_b = f"{run}-fa", f"{run}-fb"
    now = int(time.time() * 1000)

    def alert(n: int, vehicle: str, fleet: str, type_: str, severity: str, ts: int | None = None, **extra: Any) -> dict:
        return {"alert_id": f"{run}-{n:03d}", "vehicle_id": vehicle, "fleet_id": fleet, "type": type_, "severity": severity,
                "ts": ts or now - n * 1000, "value": 90.0 + n, "threshold": 80.0, "lat": 52.5, "lon": 13.4,
                "geofence_id": None, "message": f"alert {n} of {vehicle}", "details": {"n": n}, **extra}

    alerts = [
        alert(1, v1, fleet_a, "overspeed", "warning"),
        alert(2, v1, fleet_a, "harsh_braking", "info"),
        alert(3, v1, fleet_a, "geofence_exit", "critical", geofence_id="school"),
        alert(4, v2, fleet_a, "overspeed", "warning"),
        alert(5, v2, fleet_a, "dtc", "critical", future_field={"added": "later"}),
        alert(6, v2, fleet_a, "idle", "info"),
        alert(7, v3, fleet_b, "overspeed", "critical"),
        alert(8, v3, fleet_b, "battery_low", "warning"),
        alert(9, v1, fleet_a, "fuel_drop", "critical"),
        alert(10, v3, fleet_b, "idle", "info"),
    ]
    stale = alert(11, v1, fleet_a, "overspeed", "critical", ts=now - 2 * 86400 * 1000)
    recipients = {
        "recipients": {
            "ops": {"webhooks": ["{url}/ops"], "min_severity": "warning"},
            "fleet-a-hook": {"webhooks": ["{url}/flaky"]},
            "fleet-a-mail": {"emails": ["fleet-a@example.com"], "exclude_types": ["idle"]},
            "parent": {"emails": ["parent@example.com", "fleet-a@example.com"], "types": ["overspeed", "geofence_exit"]},
            "v2-gone": {"webhooks": ["{url}/gone"]},
        },
        "fleets": {fleet_a: ["fleet-a-hook", "fleet-a-mail"]},
        "vehicles": {v1: ["parent"], v2: ["v2-gone"]},
        "all": ["ops"],
    }
    # What each recipient must get, written out from the rules above:
    expected_webhooks = {
        "/ops": {a["alert_id"] for a in alerts if a["severity"] != "info"},
        "/flaky": {a["alert_id"] for a in alerts if a["fleet_id"] == fleet_a},
    }
    expected_mail = {
        "fleet-a@example.com": {a["alert_id"] for a in alerts if a["fleet_id"] == fleet_a and a["type"] != "idle"}
        | {a["alert_id"] for a in alerts if a["vehicle_id"] == v1 and a["type"] in ("overspeed", "geofence_exit")},
        "parent@example.com": {a["alert_id"] for a in alerts if a["vehicle_id"] == v1 and a["type"] in ("overspeed", "geofence_exit")},
    }
    gone_ids = {a["alert_id"] for a in alerts if a["vehicle_id"] == v2}
    assert len(expected_webhooks["/ops"]) == 7 and len(expected_webhooks["/flaky"]) == 7
    assert len(expected_mail["fleet-a@example.com"]) == 6 and len(expected_mail["parent@example.com"]) == 2

    def rec(a: dict) -> tuple[str, bytes]:
        return a["vehicle_id"], json.dumps(a).encode()

    records = [rec(a) for a in alerts[:5]] + [rec(alerts[0]), rec(alerts[3])]  # replays right away
    records += [rec(a) for a in alerts[5:]] + [rec(stale), (v3, b"{not json"), rec(alerts[2])]  # and later

    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with Webhooks() as hooks, kafka_topics(s, topic, partitions=PARTITIONS):
            path = tmp_path / "recipients.json"
            path.write_text(json.dumps(recipients).replace("{url}", hooks.url))
            db = tmp_path / "deliveries.sqlite"
            env = {"NOTIFIER_TOPIC": topic, "NOTIFIER_GROUP_ID": run, "NOTIFIER_RECIPIENTS_FILE": str(path),
                   "NOTIFIER_DELIVERIES_DB": str(db), "NOTIFIER_SMTP_HOST": "127.0.0.1",
                   "NOTIFIER_SMTP_PORT": str(smtp.port), "NOTIFIER_SMTP_TLS": "none", "NOTIFIER_SMTP_FROM": "alerts@ticktrack.example",
                   "NOTIFIER_BACKOFF_INITIAL_S": "0.2", "NOTIFIER_MAX_ATTEMPTS": "4", "NOTIFIER_COMMIT_INTERVAL_S": "0.2"}
            produce(s, topic, records)

            def delivered() -> bool:
                return (all(len(hooks.ids(p)) >= len(ids) for p, ids in expected_webhooks.items())
                        and all(len(mailbox.ids(a)) >= len(ids) for a, ids in expected_mail.items())
                        and hooks.requests["/gone"] >= len(gone_ids))

            # 1st run: everything delivered once, offsets committed only then.
            with notifier(env):
                wait_for(delivered, "all deliveries")
                wait_for(lambda: all_committed(s, run, topic), "offsets committed")
                time.sleep(2)  # room for any duplicate
            for p, ids in expected_webhooks.items():
                assert sorted(hooks.ids(p)) == sorted(ids), f"webhook {p}: exactly its alerts, once each"
            for address, ids in expected_mail.items():
                assert sorted(mailbox.ids(address)) == sorted(ids), f"mail to {address}: exactly its alerts, once each"
            assert hooks.requests["/flaky"] == len(expected_webhooks["/flaky"]) + 2, "two 503s retried, nothing more"
            assert hooks.requests["/gone"] == len(gone_ids), "410 is permanent: one request per alert"

            (path_, body, headers) = next(x for x in hooks.received if x[1]["alert_id"] == f"{run}-005")
            assert body["future_field"] == {"added": "later"}, "the alert JSON is passed through as it came"
            assert len(headers["Idempotency-Key"]) == 32
            _, mail = next((r, m) for r, m in mailbox.messages if m["X-Ticktrack-Alert-Id"] == f"{run}-003")
            assert mail["Subject"] == f"[ticktrack] critical geofence_exit {v1}"
            assert mail.get_content_type() == "text/plain" and "alert 3 of" in mail.get_content()

            with sqlite3.connect(db) as conn:
                status = dict(conn.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())
                retries = conn.execute("SELECT SUM(attempts - 1) FROM deliveries WHERE target LIKE '%/flaky' AND status = 'sent'").fetchone()[0]
                gone = set(conn.execute("SELECT alert_id, attempts, last_error FROM deliveries WHERE target LIKE '%/gone'"))
            sends = sum(map(len, expected_webhooks.values())) + sum(map(len, expected_mail.values()))
            expired = 4  # the stale alert: ops, fleet-a hook, fleet-a mail (shared by 'parent'), parent mail
            assert status == {"sent": sends, "failed": len(gone_ids), "expired": expired}
            assert retries == 2
            assert gone == {(i, 1, "HTTP 410") for i in gone_ids}

            # 2nd run, same group: only the new alert is sent.
            fresh = alert(12, v3, fleet_b, "overspeed", "critical")
            before_ops = len(hooks.ids("/ops"))
            with notifier(env):
                produce(s, topic, [rec(fresh)])
                wait_for(lambda: len(hooks.ids("/ops")) > before_ops, "the new alert")
                wait_for(lambda: all_committed(s, run, topic), "offsets committed")
                time.sleep(2)
            assert hooks.ids("/ops").count(fresh["alert_id"]) == 1
            assert len(hooks.ids("/ops")) == before_ops + 1

            # 3rd run, new group = the whole topic replayed: the delivery log sends nothing again.
            snapshot = (Counter(hooks.requests), len(mailbox.messages))
            replay = unique("replay")
            with notifier({**env, "NOTIFIER_GROUP_ID": replay}):
                wait_for(lambda: all_committed(s, replay, topic), "the replay read to the end")
                time.sleep(2)
            assert (Counter(hooks.requests), len(mailbox.messages)) == snapshot, "a replay sends nothing"
    finally:
        smtp.stop()


def test_killed_mid_retry_resumes_without_duplicates(tmp_path: Path) -> None:
    """SIGKILL while a webhook is down: nothing settled is lost or repeated after the restart."""
    s = require_stack()
    run = unique("notif-kill")
    topic = f"{run}.alerts"
    alerts = [{"alert_id": f"{run}-{n}", "vehicle_id": f"{run}-v{n}", "fleet_id": None, "type": "idle", "severity": "info",
               "ts": int(time.time() * 1000), "message": f"alert {n}"} for n in range(6)]
    with Webhooks() as hooks, kafka_topics(s, topic, partitions=PARTITIONS):
        path = tmp_path / "recipients.json"
        path.write_text(json.dumps({"recipients": {"ok": {"webhooks": [f"{hooks.url}/ok"]},
                                                   "later": {"webhooks": [f"{hooks.url}/later"]}},
                                    "all": ["ok", "later"]}))
        env = {"NOTIFIER_TOPIC": topic, "NOTIFIER_GROUP_ID": run, "NOTIFIER_RECIPIENTS_FILE": str(path),
               "NOTIFIER_DELIVERIES_DB": str(tmp_path / "d.sqlite"), "NOTIFIER_BACKOFF_INITIAL_S": "0.3",
               "NOTIFIER_BACKOFF_MULTIPLIER": "1", "NOTIFIER_MAX_ATTEMPTS": "50", "NOTIFIER_COMMIT_INTERVAL_S": "0.2",
               "NOTIFIER_SESSION_TIMEOUT_S": "6"}  # the killed member's partitions come back soon
        hooks.down.add("/later")
        produce(s, topic, [(a["vehicle_id"], json.dumps(a).encode()) for a in alerts])
        with notifier(env) as proc:
            wait_for(lambda: len(hooks.ids("/ok")) == 6 and hooks.requests["/later"] >= 12, "ok sent, later retrying")
            proc.kill()
            proc.wait()
        assert not all_committed(s, run, topic), "unsettled alerts are not committed"
        hooks.down.clear()
        with notifier(env):
            wait_for(lambda: len(hooks.ids("/later")) == 6, "later delivered after the restart")
            wait_for(lambda: all_committed(s, run, topic), "offsets committed")
            time.sleep(2)
        assert sorted(hooks.ids("/ok")) == sorted(a["alert_id"] for a in alerts), "nothing sent twice to the healthy hook"
        assert sorted(hooks.ids("/later")) == sorted(a["alert_id"] for a in alerts)
