"""Dispatcher with scripted channels: retries, dead letters, dedupe, no head-of-line blocking."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from notifier.dedupe import FAILED, PENDING, SENT, DeliveryKey, DeliveryLog
from notifier.dispatch import Dispatcher
from notifier.recipients import WEBHOOK, Delivery
from notifier.retry import AttemptResult, Outcome, RetryPolicy

OK, RETRY, PERM = AttemptResult(Outcome.SENT, "ok"), AttemptResult(Outcome.RETRY, "HTTP 503"), AttemptResult(Outcome.PERMANENT, "HTTP 410")


class ScriptedChannel:
    """Answers per target from a script (last answer repeats); records every call."""

    name = WEBHOOK

    def __init__(self, script: dict[str, list[AttemptResult | Exception]]) -> None:
        self.script = script
        self.calls: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def send(self, alert: Mapping[str, Any], delivery: Delivery, delivery_id: str) -> AttemptResult:
        with self.lock:
            n = self.calls[delivery.target]
            self.calls[delivery.target] += 1
        answers = self.script.get(delivery.target, [OK])
        answer = answers[min(n, len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return answer


def hook(target: str) -> Delivery:
    return Delivery(WEBHOOK, target, ("r",))


def alert(alert_id: str = "a1") -> dict:
    return {"alert_id": alert_id, "vehicle_id": "v1", "type": "overspeed", "severity": "warning"}


def run_until(d: Dispatcher, want: set, timeout_s: float = 5.0) -> set:
    settled: set = set()
    deadline = time.monotonic() + timeout_s
    while not want <= settled and time.monotonic() < deadline:
        settled |= set(d.poll(0.05))
    return settled


@pytest.fixture
def log(tmp_path: Path):
    with DeliveryLog(tmp_path / "d.sqlite") as dl:
        yield dl


def make(channel: ScriptedChannel, log: DeliveryLog, **policy: Any) -> Dispatcher:
    return Dispatcher({WEBHOOK: channel}, log, RetryPolicy(**{"initial_s": 0.0, "max_attempts": 4, **policy}), workers=4)


def test_transient_failures_are_retried_then_sent(log: DeliveryLog) -> None:
    ch = ScriptedChannel({"flaky": [RETRY, RETRY, OK]})
    d = make(ch, log)
    d.add("m1", alert(), [hook("flaky")])
    assert run_until(d, {"m1"}) == {"m1"}
    key = DeliveryKey("a1", WEBHOOK, "flaky")
    assert ch.calls["flaky"] == 3
    assert log.get(key).status == SENT
    assert [o for _, o, _ in log.attempts(key)] == ["retry", "retry", "sent"]


def test_permanent_failure_is_dead_lettered_at_once(log: DeliveryLog) -> None:
    ch = ScriptedChannel({"gone": [PERM]})
    d = make(ch, log)
    d.add("m1", alert(), [hook("gone")])
    assert run_until(d, {"m1"}) == {"m1"}
    assert ch.calls["gone"] == 1
    assert log.get(DeliveryKey("a1", WEBHOOK, "gone")).status == FAILED
    assert d.stats["failed"] == 1


def test_attempts_are_bounded(log: DeliveryLog) -> None:
    ch = ScriptedChannel({"down": [RETRY]})
    d = make(ch, log, max_attempts=3)
    d.add("m1", alert(), [hook("down")])
    assert run_until(d, {"m1"}) == {"m1"}
    assert ch.calls["down"] == 3
    state = log.get(DeliveryKey("a1", WEBHOOK, "down"))
    assert (state.status, state.attempts, state.last_error) == (FAILED, 3, "HTTP 503")


def test_channel_exception_counts_as_transient(log: DeliveryLog) -> None:
    ch = ScriptedChannel({"buggy": [RuntimeError("boom"), OK]})
    d = make(ch, log)
    d.add("m1", alert(), [hook("buggy")])
    run_until(d, {"m1"})
    assert log.get(DeliveryKey("a1", WEBHOOK, "buggy")).status == SENT


def test_failing_recipient_does_not_block_others(log: DeliveryLog) -> None:
    ch = ScriptedChannel({"down": [RETRY]})
    d = make(ch, log, initial_s=30.0, max_attempts=5)
    d.add("m1", alert("a1"), [hook("down"), hook("ok")])
    d.add("m2", alert("a2"), [hook("ok")])
    assert run_until(d, {"m2"}, timeout_s=2.0) == {"m2"}, "later alert settled while m1 waits for its retry"
    assert log.get(DeliveryKey("a1", WEBHOOK, "ok")).status == SENT
    assert log.get(DeliveryKey("a1", WEBHOOK, "down")).status == PENDING
    assert d.pending_deliveries() == 1 and 0 < (d.next_retry_in() or 0) <= 30.0


def test_replay_of_a_sent_alert_sends_nothing(log: DeliveryLog) -> None:
    ch = ScriptedChannel({})
    d = make(ch, log)
    d.add("m1", alert(), [hook("x")])
    run_until(d, {"m1"})
    d.add("m2", alert(), [hook("x"), hook("new")])
    assert run_until(d, {"m2"}) == {"m2"}
    assert ch.calls == {"x": 1, "new": 1}, "only the target the first copy did not have"
    assert d.stats["duplicate"] == 1


def test_duplicate_while_first_copy_in_flight_is_not_sent(log: DeliveryLog) -> None:
    ch = ScriptedChannel({"slow": [RETRY, OK]})
    d = make(ch, log, initial_s=0.2)
    d.add("m1", alert(), [hook("slow")])
    d.add("m2", alert(), [hook("slow")])
    assert d.poll(0.1) == [], "the copy waits for the first one's delivery, so its offset is not committed early"
    assert run_until(d, {"m1", "m2"}) == {"m1", "m2"}
    assert ch.calls["slow"] == 2, "one failed attempt + one success, for both copies together"


def test_restart_resumes_attempt_count(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    key = DeliveryKey("a1", WEBHOOK, "down")
    with DeliveryLog(path) as log:
        log.claim(key)
        log.record_attempt(key, 1, "retry", "HTTP 503")
        log.record_attempt(key, 2, "retry", "HTTP 503")
    with DeliveryLog(path) as log:
        ch = ScriptedChannel({"down": [RETRY]})
        d = make(ch, log, max_attempts=3)
        d.add("m1", alert(), [hook("down")])
        run_until(d, {"m1"})
        assert ch.calls["down"] == 1 and log.get(key).status == FAILED


def test_exhausted_before_restart_is_dead_lettered_without_sending(tmp_path: Path) -> None:
    key = DeliveryKey("a1", WEBHOOK, "down")
    with DeliveryLog(tmp_path / "d.sqlite") as log:
        log.claim(key)
        for n in (1, 2, 3):
            log.record_attempt(key, n, "retry", "HTTP 503")
        ch = ScriptedChannel({})
        d = make(ch, log, max_attempts=3)
        d.add("m1", alert(), [hook("down")])
        assert run_until(d, {"m1"}) == {"m1"}
        assert ch.calls == {} and log.get(key).status == FAILED


def test_unconfigured_channel_is_dead_lettered(log: DeliveryLog) -> None:
    d = make(ScriptedChannel({}), log)
    d.add("m1", alert(), [Delivery("email", "a@b.c", ("r",))])
    assert run_until(d, {"m1"}) == {"m1"}
    assert log.get(DeliveryKey("a1", "email", "a@b.c")).status == FAILED


def test_expire_records_without_sending_and_silences_replays(log: DeliveryLog) -> None:
    ch = ScriptedChannel({})
    d = make(ch, log)
    d.expire("m1", alert(), [hook("x")], "too old")
    d.add("m2", alert(), [hook("x")])
    assert run_until(d, {"m1", "m2"}) == {"m1", "m2"}
    assert ch.calls == {}


def test_close_leaves_waiting_retries_pending(log: DeliveryLog) -> None:
    ch = ScriptedChannel({"down": [RETRY]})
    d = make(ch, log, initial_s=60.0)
    d.add("m1", alert(), [hook("down")])
    deadline = time.monotonic() + 5
    while ch.calls["down"] < 1 and time.monotonic() < deadline:
        d.poll(0.05)
    assert d.close(grace_s=1.0) == []
    assert log.get(DeliveryKey("a1", WEBHOOK, "down")).status == PENDING


def test_webhook_secrets_stay_out_of_logs() -> None:
    from notifier.dispatch import shown_target

    shown = shown_target(WEBHOOK, "https://user:pw@hooks.example.com:8443/services/T000/B000/SECRET?token=x")
    assert shown.startswith("https://hooks.example.com:8443/…#")
    assert "SECRET" not in shown and "pw" not in shown and "token" not in shown
    assert shown_target("email", "a@b.c") == "a@b.c"


def incident_record(alert_id: str, state: str, incident_id: str = "inc") -> dict:
    return {**alert(alert_id), "state": state, "incident_id": incident_id}


def test_one_message_per_incident_raise_escalation_and_clear(log: DeliveryLog) -> None:
    """Keyed by the incident notice: a second record of the same incident and state (a second
    escalation, a re-raise under another id) sends nothing; raise, escalation and clear one each."""
    ch = ScriptedChannel({})
    d = make(ch, log)
    records = [incident_record("inc", "raised"), incident_record("e1", "escalated"), incident_record("e2", "escalated"),
               incident_record("r2", "raised"), incident_record("c1", "cleared"), incident_record("c2", "cleared")]
    for n, rec in enumerate(records):
        d.add(f"m{n}", rec, [hook("t")])
        run_until(d, {f"m{n}"})
    assert ch.calls["t"] == 3
    assert log.counts() == {SENT: 3}
    assert {k for k in ("inc", "inc/escalated", "inc/cleared") if log.get(DeliveryKey(k, WEBHOOK, "t"))} == {
        "inc", "inc/escalated", "inc/cleared"}
    # a record without the incident fields (an older producer) is a raise of its own, keyed as before
    d.add("old", alert("legacy"), [hook("t")])
    assert run_until(d, {"old"}) == {"old"}
    assert ch.calls["t"] == 4 and log.get(DeliveryKey("legacy", WEBHOOK, "t")).status == SENT
