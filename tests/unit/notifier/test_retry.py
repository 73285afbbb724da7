"""Retry policy and the channels' classification of failures."""

from __future__ import annotations

import smtplib

import pytest

from notifier.channels.email import classify_smtp_error
from notifier.channels.webhook import classify_status
from notifier.retry import AttemptResult, Outcome, RetryPolicy


@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.SENT), (201, Outcome.SENT), (204, Outcome.SENT),
    (301, Outcome.PERMANENT), (307, Outcome.PERMANENT),
    (400, Outcome.PERMANENT), (401, Outcome.PERMANENT), (404, Outcome.PERMANENT), (410, Outcome.PERMANENT),
    (408, Outcome.RETRY), (429, Outcome.RETRY),
    (500, Outcome.RETRY), (502, Outcome.RETRY), (503, Outcome.RETRY), (504, Outcome.RETRY),
])
def test_http_status_classification(status: int, outcome: Outcome) -> None:
    assert classify_status(status).outcome is outcome


def test_retry_after_seconds_is_a_hint() -> None:
    assert classify_status(429, "7").retry_after_s == 7.0
    assert classify_status(503, "Wed, 21 Oct 2015 07:28:00 GMT").retry_after_s is None


@pytest.mark.parametrize(("exc", "outcome"), [
    (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no such user")}), Outcome.PERMANENT),
    (smtplib.SMTPRecipientsRefused({"a@b.c": (450, b"mailbox busy")}), Outcome.RETRY),
    (smtplib.SMTPSenderRefused(553, b"sender rejected", "x@y.z"), Outcome.PERMANENT),
    (smtplib.SMTPDataError(451, b"try later"), Outcome.RETRY),
    (smtplib.SMTPDataError(554, b"spam"), Outcome.PERMANENT),
    (smtplib.SMTPAuthenticationError(535, b"bad credentials"), Outcome.PERMANENT),
    (smtplib.SMTPConnectError(421, b"too busy"), Outcome.RETRY),
    (smtplib.SMTPServerDisconnected("gone"), Outcome.RETRY),
    (smtplib.SMTPNotSupportedError("STARTTLS"), Outcome.PERMANENT),
    (ConnectionRefusedError(111, "refused"), Outcome.RETRY),
    (TimeoutError("timed out"), Outcome.RETRY),
])
def test_smtp_error_classification(exc: BaseException, outcome: Outcome) -> None:
    assert classify_smtp_error(exc).outcome is outcome


def test_backoff_grows_and_is_capped() -> None:
    p = RetryPolicy(max_attempts=6, initial_s=1.0, multiplier=2.0, max_delay_s=5.0)
    assert [p.delay_s(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert p.worst_case_s() == 17.0


def test_retry_after_honoured_within_cap() -> None:
    p = RetryPolicy(max_attempts=5, initial_s=1.0, multiplier=2.0, max_delay_s=30.0)
    assert p.delay_s(1, retry_after_s=10) == 10.0
    assert p.delay_s(1, retry_after_s=3600) == 30.0
    assert p.delay_s(3, retry_after_s=0) == 4.0


def test_only_transient_failures_are_retried_and_attempts_are_bounded() -> None:
    p = RetryPolicy(max_attempts=3)
    retry, permanent = AttemptResult(Outcome.RETRY), AttemptResult(Outcome.PERMANENT)
    assert p.should_retry(retry, 1) and p.should_retry(retry, 2)
    assert not p.should_retry(retry, 3)
    assert not p.should_retry(permanent, 1)
    assert not p.should_retry(AttemptResult(Outcome.SENT), 1)


@pytest.mark.parametrize("bad", [dict(max_attempts=0), dict(initial_s=-1), dict(multiplier=0.5), dict(max_delay_s=-1)])
def test_invalid_policy_rejected(bad: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)
