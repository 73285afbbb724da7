"""Channels against in-process servers (no stack needed): what each answer becomes."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from notifier.channels.email import EmailChannel, SmtpConfig
from notifier.channels.webhook import WebhookChannel
from notifier.recipients import EMAIL, WEBHOOK, Delivery
from notifier.retry import Outcome

ALERT = {"alert_id": "a1", "vehicle_id": "v1", "type": "overspeed", "severity": "warning", "message": "fast"}


@contextmanager
def http_server() -> Iterator[tuple[str, list[dict]]]:
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append({"path": self.path, "body": json.loads(body), "headers": dict(self.headers)})
            if self.path == "/slow":
                time.sleep(1.0)
            status, extra = {"/ok": (204, {}), "/redirect": (302, {"Location": "/ok"}), "/busy": (429, {"Retry-After": "3"}),
                             "/bad": (400, {}), "/down": (503, {}), "/slow": (200, {})}[self.path]
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("path", "outcome", "hint"), [
    ("/ok", Outcome.SENT, None), ("/redirect", Outcome.PERMANENT, None), ("/busy", Outcome.RETRY, 3.0),
    ("/bad", Outcome.PERMANENT, None), ("/down", Outcome.RETRY, None),
])
def test_webhook_outcomes(path: str, outcome: Outcome, hint: float | None) -> None:
    with http_server() as (url, seen):
        result = WebhookChannel(timeout_s=5).send(ALERT, Delivery(WEBHOOK, url + path, ("r",), (("X-Token", "t"),)), "d1")
    assert (result.outcome, result.retry_after_s) == (outcome, hint)
    assert [s["path"] for s in seen] == [path], "one request, redirects not followed"
    assert seen[0]["body"] == ALERT
    assert seen[0]["headers"]["Idempotency-Key"] == "d1" and seen[0]["headers"]["X-Token"] == "t"


def test_webhook_timeout_and_refused_are_transient() -> None:
    with http_server() as (url, _):
        slow = WebhookChannel(timeout_s=0.2).send(ALERT, Delivery(WEBHOOK, url + "/slow", ("r",)), "d1")
    refused = WebhookChannel(timeout_s=1).send(ALERT, Delivery(WEBHOOK, f"http://127.0.0.1:{free_port()}/x", ("r",)), "d1")
    assert slow.outcome is Outcome.RETRY and refused.outcome is Outcome.RETRY


class Handler:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:  # noqa: N802
        if address.startswith("nobody@"):
            return "550 no such user"
        if address.startswith("full@"):
            return "452 mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_email_outcomes() -> None:
    handler = Handler()
    ctl = Controller(handler, hostname="127.0.0.1", port=free_port())
    ctl.start()
    try:
        ch = EmailChannel(SmtpConfig(host="127.0.0.1", port=ctl.port, tls="none", sender="t@ticktrack.example", timeout_s=5))
        ok = ch.send(ALERT, Delivery(EMAIL, "someone@example.com", ("r",)), "d1")
        gone = ch.send(ALERT, Delivery(EMAIL, "nobody@example.com", ("r",)), "d2")
        full = ch.send(ALERT, Delivery(EMAIL, "full@example.com", ("r",)), "d3")
    finally:
        ctl.stop()
    assert ok.outcome is Outcome.SENT and gone.outcome is Outcome.PERMANENT and full.outcome is Outcome.RETRY
    ((rcpt, content),) = handler.messages
    assert rcpt == ["someone@example.com"] and b"Subject: [ticktrack] warning overspeed v1" in content


def test_email_without_server_is_transient() -> None:
    ch = EmailChannel(SmtpConfig(host="127.0.0.1", port=free_port(), tls="none", timeout_s=2))
    assert ch.send(ALERT, Delivery(EMAIL, "a@example.com", ("r",)), "d1").outcome is Outcome.RETRY
