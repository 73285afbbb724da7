"""Session set-up shared by every suite: this run's own InfluxDB buckets (tests/support/run_buckets.py).

The buckets exist only when InfluxDB answers at session start (unit tests need none); a test
that needs the stack fails through ``require_stack`` when it does not. At the end the demo's
buckets are checked for series this run leaked into them: any such series fails the session.
"""

from __future__ import annotations

import os
import uuid

import pytest

from settings.stack import load_stack_settings
from tests.support import run_buckets

_state: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    s = load_stack_settings()
    run = uuid.uuid4().hex[:8]
    buckets = run_buckets.RunBuckets(s.influx_bucket_fleet, s.influx_bucket_crypto, f"test-fleet-{run}", f"test-crypto-{run}")
    os.environ["INFLUX_BUCKET_FLEET"] = buckets.fleet
    os.environ["INFLUX_BUCKET_CRYPTO"] = buckets.crypto
    # Every test's ingest has its own MQTT client ids: its persistent sessions must not stay on the
    # shared broker for the default day, queueing every device message of the demo meanwhile.
    os.environ.setdefault("INGEST_MQTT_SESSION_EXPIRY_S", "300")
    # ... and their devices publish under their own topic root (tests/support/services.publish adds it),
    # so a demo running on the same broker never ingests a test's messages into the demo's buckets.
    os.environ.setdefault("INGEST_MQTT_TOPIC_ROOT", f"test-{run}/")
    # Test processes keep their log lines on stderr; tests of the shipping turn it on with a private log store.
    os.environ.setdefault("LOGS_SHIP", "false")
    if not s.influx_token:
        return
    # The stack's writer and reader tokens know only the demo's buckets; tests use the operator token.
    os.environ["INFLUX_WRITE_TOKEN"] = s.influx_token
    os.environ["INFLUX_READ_TOKEN"] = s.influx_token
    try:
        before = run_buckets.demo_series(s, buckets)
        run_buckets.create(s, buckets)
    except Exception:  # noqa: BLE001 - InfluxDB down: tests that need it fail through require_stack
        return
    _state.update(settings=s, buckets=buckets, before=before)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _state:
        return
    s, buckets = _state["settings"], _state["buckets"]
    try:
        leaked = run_buckets.foreign_series(_state["before"], run_buckets.demo_series(s, buckets))
    finally:
        run_buckets.delete(s, buckets)
    if leaked:
        session.config.get_terminal_writer().line(
            f"tests wrote {len(leaked)} series into the demo's buckets: {', '.join(leaked[:20])}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
