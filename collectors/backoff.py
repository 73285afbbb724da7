"""Exponential backoff with full jitter, and which ccxt errors are worth a retry.

One ``Backoff`` per exchange task (no shared state): a rate-limited exchange slows down alone.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import ccxt.async_support as ccxt

# Worth waiting and retrying: rate limits (DDoSProtection, RateLimitExceeded), timeouts,
# maintenance, unreachable hosts. All are ccxt.NetworkError subclasses; asyncio's timeout is ours.
RETRYABLE: tuple[type[BaseException], ...] = (ccxt.NetworkError, asyncio.TimeoutError, TimeoutError)
# Never going to work without a person changing something: stop polling that exchange.
PERMANENT: tuple[type[BaseException], ...] = (ccxt.AuthenticationError, ccxt.NotSupported, ccxt.PermissionDenied)


@dataclass
class Backoff:
    """``next()`` returns the next wait in seconds; ``reset()`` after a success."""

    initial_s: float = 1.0
    max_s: float = 120.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next(self) -> float:
        """Full jitter (AWS style): uniform in [initial, min(max, initial * 2**attempt)]."""
        ceiling = min(self.max_s, self.initial_s * 2**self.attempt)
        self.attempt += 1
        return self.rng.uniform(min(self.initial_s, ceiling), ceiling)

    def reset(self) -> None:
        self.attempt = 0


def is_rate_limit(exc: BaseException) -> bool:
    """True for 429 / DDoS protection answers (logged and counted apart: they mean "poll less").
    ccxt's ``RateLimitExceeded`` is no ``DDoSProtection`` subclass, so both are named."""
    return isinstance(exc, (ccxt.DDoSProtection, ccxt.RateLimitExceeded))
