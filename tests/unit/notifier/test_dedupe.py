"""Delivery log: final statuses survive a reopen (a restart) and are never attempted again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from notifier.dedupe import EXPIRED, FAILED, PENDING, SENT, DeliveryKey, DeliveryLog, delivery_id

KEY = DeliveryKey("a1", "webhook", "https://x.example/h")


def test_claim_creates_pending_once(tmp_path: Path) -> None:
    with DeliveryLog(tmp_path / "d.sqlite") as log:
        first = log.claim(KEY, vehicle_id="v1", alert_type="overspeed", recipients="ops")
        assert (first.status, first.attempts, first.final) == (PENDING, 0, False)
        log.record_attempt(KEY, 1, "retry", "HTTP 503")
        again = log.claim(KEY)
        assert (again.status, again.attempts, again.last_error) == (PENDING, 1, "HTTP 503")


def test_sent_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "d.sqlite"
    with DeliveryLog(path) as log:
        log.claim(KEY)
        log.record_attempt(KEY, 1, "retry", "HTTP 503")
        log.record_attempt(KEY, 2, "sent", "HTTP 200")
        log.finish(KEY, SENT)
    with DeliveryLog(path) as log:
        state = log.claim(KEY)
        assert state.final and state.status == SENT and state.attempts == 2
        assert log.attempts(KEY) == [(1, "retry", "HTTP 503"), (2, "sent", "HTTP 200")]
        assert log.counts() == {SENT: 1}


def test_keys_are_independent(tmp_path: Path) -> None:
    with DeliveryLog(tmp_path / "d.sqlite") as log:
        log.claim(KEY)
        log.finish(KEY, FAILED, "HTTP 410")
        other_target = KEY._replace(target="https://y.example/h")
        other_channel = KEY._replace(channel="email")
        other_alert = KEY._replace(alert_id="a2")
        assert log.get(KEY).status == FAILED and log.get(KEY).last_error == "HTTP 410"
        assert all(log.get(k) is None for k in (other_target, other_channel, other_alert))


def test_finish_without_claim_records_expired(tmp_path: Path) -> None:
    with DeliveryLog(tmp_path / "d.sqlite") as log:
        log.finish(KEY, EXPIRED, "too old")
        assert log.get(KEY).status == EXPIRED
        with pytest.raises(ValueError):
            log.finish(KEY, PENDING)


def test_prune_forgets_old_final_rows_only(tmp_path: Path) -> None:
    with DeliveryLog(tmp_path / "d.sqlite") as log:
        log.claim(KEY)
        log.finish(KEY, SENT)
        pending = KEY._replace(alert_id="a2")
        log.claim(pending)
        assert log.prune(timedelta(days=1)) == 0
        assert log.prune(timedelta(seconds=-1)) == 1
        assert log.get(KEY) is None and log.get(pending) is not None


def test_delivery_id_is_stable_and_distinct() -> None:
    assert delivery_id(KEY) == delivery_id(DeliveryKey(*KEY))
    assert delivery_id(KEY) != delivery_id(KEY._replace(target="https://y.example/h"))
