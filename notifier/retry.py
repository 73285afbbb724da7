"""What a delivery attempt can end in, and when to try again.

Channels classify their own errors (HTTP status, SMTP reply code) into three outcomes; the
policy only decides how long to wait and when to give up, so it is the same for every channel.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"  # transient: timeout, connection refused, 5xx, 408/429, SMTP 4xx
    PERMANENT = "permanent"  # retrying cannot help: 4xx, SMTP 5xx, bad address


@dataclass(frozen=True)
class AttemptResult:
    """Result of one attempt; ``retry_after_s`` is a hint from the receiver (HTTP Retry-After)."""

    outcome: Outcome
    detail: str = ""
    retry_after_s: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff, bounded both per wait and in number of attempts."""

    max_attempts: int = 5
    initial_s: float = 1.0
    multiplier: float = 2.0
    max_delay_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.initial_s < 0 or self.multiplier < 1 or self.max_delay_s < 0:
            raise ValueError(f"invalid retry policy {self}")

    def should_retry(self, result: AttemptResult, attempts_done: int) -> bool:
        """Only transient failures are retried, and only while attempts remain."""
        return result.outcome is Outcome.RETRY and attempts_done < self.max_attempts

    def delay_s(self, attempts_done: int, retry_after_s: float | None = None) -> float:
        """Wait before attempt ``attempts_done + 1``: initial * multiplier^(n-1), capped;
        a receiver's Retry-After is honoured but never beyond the cap."""
        base = self.initial_s * self.multiplier ** max(attempts_done - 1, 0)
        if retry_after_s is not None:
            base = max(base, retry_after_s)
        return min(base, self.max_delay_s)

    def worst_case_s(self) -> float:
        """Longest a failing recipient can hold its alert (without attempt durations)."""
        return sum(self.delay_s(n) for n in range(1, self.max_attempts))
