"""Request rate limits: per client (the token's subject) on every authenticated request, per peer address on the token endpoint.

Moving windows of the ``limits`` library, kept in this process's memory (one API process serves
``make demo``; behind several workers each holds its own window, so the effective limit
multiplies by their number). Over the limit is a 429 problem document with ``Retry-After``.
The token endpoint's failed-attempt lock (``access.auth_limits``, shared by all workers) comes on top.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.problems import Problem


def parse_rate(text: str) -> RateLimitItem:
    """``"120/minute"`` -> the item; raises ValueError naming what is wrong (the settings check uses it)."""
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a rate such as 120/minute or 10/second") from exc


@dataclass
class RateLimits:
    """The two limits and their moving windows."""

    per_client: RateLimitItem
    per_token_peer: RateLimitItem
    _limiter: MovingWindowRateLimiter = field(default_factory=lambda: MovingWindowRateLimiter(MemoryStorage()))

    @classmethod
    def of(cls, per_client: str, per_token_peer: str) -> RateLimits:
        return cls(parse_rate(per_client), parse_rate(per_token_peer))

    def _hit(self, item: RateLimitItem, key: str, what: str) -> None:
        if self._limiter.hit(item, key):
            return
        reset = self._limiter.get_window_stats(item, key).reset_time
        wait_s = max(1, math.ceil(reset - time.time()))
        raise Problem(429, "rate-limited", f"more than {item.amount} {what} per {item.multiples} {item.GRANULARITY.name}; "
                                           f"try again in {wait_s} s", headers={"Retry-After": str(wait_s)})

    def client_request(self, subject: str) -> None:
        """Count one request of ``user:<name>`` / ``client:<id>``; 429 over the limit."""
        self._hit(self.per_client, f"client|{subject}", "requests")

    def token_request(self, peer: str) -> None:
        """Count one token request of a peer address; 429 over the limit."""
        self._hit(self.per_token_peer, f"token|{peer}", "token requests")
