"""Ship every JSON log line of a process to VictoriaLogs, without ever holding the process up.

Why a handler of our own: the lines must leave the process batched over HTTP (VictoriaLogs'
``/insert/jsonline``), from a bounded buffer, and a log store that is down or slow must neither
block a flow's step nor crash it. Every line is always written to stderr as well (the fallback),
so while the store is down nothing is lost from the process's own log; the buffer keeps the
newest ``LOGS_BUFFER_LINES`` lines for the store and drops the oldest beyond that (counted).
"""

from __future__ import annotations

import atexit
import collections
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings.errors import load_settings
from settings.stack import stack_env_path

#: Fields that make a VictoriaLogs stream (few values each: a flow's lines stay together).
STREAM_FIELDS = ("service", "flow")


class LogShippingSettings(BaseSettings):
    """Where and how log lines are shipped. Env prefix ``LOGS_`` (then ``var/stack.env``)."""

    model_config = SettingsConfigDict(env_prefix="LOGS_", extra="ignore")

    url: str = Field("http://127.0.0.1:9428", description="VictoriaLogs base URL (services/stack.sh writes LOGS_URL to var/stack.env)")
    ship: bool = Field(True, description="ship log lines to VictoriaLogs; false = stderr only")
    batch_lines: int = Field(500, ge=1, description="lines sent in one request at most")
    flush_interval_s: float = Field(1.0, gt=0, description="a partial batch is sent after this long, s")
    buffer_lines: int = Field(10_000, ge=1, description="lines kept for the log store while it is slow or down; the oldest are dropped beyond")
    timeout_s: float = Field(2.0, gt=0, description="HTTP timeout of one request to the log store, s")
    retry_s: float = Field(5.0, gt=0, description="wait after a failed request before the next try, s")


def load_log_shipping_settings() -> LogShippingSettings:
    """Settings from the environment, then ``var/stack.env``; a bad value raises ``ConfigError`` naming it."""
    env_file = stack_env_path()
    return load_settings(LogShippingSettings, env_file if env_file.exists() else None)


class LogShipper:
    """A bounded buffer of JSON lines and one daemon thread that posts them in batches."""

    def __init__(self, settings: LogShippingSettings) -> None:
        self.settings = settings
        self._endpoint = (settings.url.rstrip("/") + "/insert/jsonline?" + urllib.parse.urlencode(
            {"_stream_fields": ",".join(STREAM_FIELDS), "_msg_field": "event", "_time_field": "timestamp"}))
        self._lines: collections.deque[bytes] = collections.deque(maxlen=settings.buffer_lines)
        self._cond = threading.Condition()
        self._closed = False
        self._down_since: float | None = None
        self.sent = 0
        self.dropped = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self._thread.start()

    def put(self, line: str) -> None:
        """Queue one line; never blocks (a full buffer drops its oldest line)."""
        with self._cond:
            if len(self._lines) == self._lines.maxlen:
                self.dropped += 1
            self._lines.append(line.encode("utf-8", "replace"))
            if len(self._lines) >= self.settings.batch_lines:
                self._cond.notify()

    def pending(self) -> int:
        """Lines not yet accepted by the log store."""
        with self._cond:
            return len(self._lines)

    def _take(self) -> list[bytes]:
        with self._cond:
            if not self._closed and len(self._lines) < self.settings.batch_lines:
                self._cond.wait(self.settings.flush_interval_s)
            n = min(len(self._lines), self.settings.batch_lines)
            return [self._lines.popleft() for _ in range(n)]

    def _give_back(self, batch: list[bytes]) -> None:
        with self._cond:
            room = (self._lines.maxlen or 0) - len(self._lines)
            keep = batch[len(batch) - room:] if room < len(batch) else batch
            self.dropped += len(batch) - len(keep)
            self._lines.extendleft(reversed(keep))

    def _post(self, batch: list[bytes]) -> None:
        req = urllib.request.Request(self._endpoint, data=b"\n".join(batch) + b"\n", method="POST",
                                     headers={"Content-Type": "application/stream+json"})
        with urllib.request.urlopen(req, timeout=self.settings.timeout_s) as resp:  # noqa: S310 - configured log store URL
            resp.read()

    def _note(self, event: str, **fields: object) -> None:
        """A line about shipping itself: stderr only (shipping it could loop)."""
        print(json.dumps({"event": event, "level": "warning", "logger": __name__, **fields}), file=sys.stderr, flush=True)

    def send_once(self) -> bool:
        """Send one batch; False when the log store did not take it (the batch is kept)."""
        batch = self._take()
        if not batch:
            return True
        try:
            self._post(batch)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            self._give_back(batch)
            self.failures += 1
            if self._down_since is None:
                self._down_since = time.monotonic()
                self._note("log_store_unreachable", url=self.settings.url, error=str(exc)[:200], kept_lines=self.pending(),
                           note="lines stay on stderr; kept ones are sent when the store answers")
            return False
        if self._down_since is not None:
            self._note("log_store_recovered", url=self.settings.url, down_s=round(time.monotonic() - self._down_since, 1),
                       dropped_lines=self.dropped)
            self._down_since = None
        self.sent += len(batch)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed and not self._lines:
                    return
            if not self.send_once():
                with self._cond:
                    if self._closed:
                        return
                    self._cond.wait(self.settings.retry_s)

    def close(self, timeout_s: float = 2.0) -> None:
        """Send what is buffered (waiting ``timeout_s`` at most), then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout_s)


class ShippingHandler(logging.Handler):
    """A logging handler that queues each formatted record on a ``LogShipper``; never raises."""

    def __init__(self, shipper: LogShipper) -> None:
        super().__init__()
        self.shipper = shipper

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.shipper.put(self.format(record))
        except Exception:  # noqa: BLE001 - a log line must never break the caller
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        """Silent: the same line already went to stderr."""


_shipper: LogShipper | None = None
_lock = threading.Lock()


def process_shipper(settings: LogShippingSettings | None = None) -> LogShipper | None:
    """The process's one shipper (created on first use, flushed at exit); None when shipping is off."""
    global _shipper
    with _lock:
        if _shipper is None:
            s = settings or load_log_shipping_settings()
            if not s.ship:
                return None
            _shipper = LogShipper(s)
            atexit.register(_shipper.close)
        return _shipper
