"""Seeded exchange health for the page's tests (AppTest and browser): four exchanges of a run - one
failing, one slow, one excluded (an outlier on HOT/USDT), one ok - over three 10-second windows
that end 10 s before now, made by the real rule (rules.crypto.exchange_health) as the flow makes them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from influxdb_client import Point

from contracts.exchange_health import ExchangeHealth, ExchangeStatus, SpreadExclusions
from contracts.quote import Quote
from rules.crypto.exchange_health import HealthRules, HealthState
from sinks.influx_points.exchange_health import health_point

OUTLIER = "mid 3.7 is 3600.00% from the median 0.1 of 4 exchanges"


@dataclass(frozen=True)
class SeededHealth:
    failing: str
    slow: str
    excluded: str
    ok: str
    last: dict[str, ExchangeHealth] = field(default_factory=dict)

    @property
    def exchanges(self) -> tuple[str, str, str, str]:
        return self.failing, self.slow, self.excluded, self.ok


def _events(names: SeededHealth, start: int) -> Iterator[Quote | ExchangeStatus | SpreadExclusions]:
    """Three windows from ``start``, and the event that closes the third."""
    def status(exchange: str, t: int, state: str = "polling", errors: int = 0) -> ExchangeStatus:
        return ExchangeStatus(exchange, t, start, "simulated", state, 2, 0, 0, 0, errors, errors // 2, 0, 0,
                              "RateLimitExceeded: 429 (simulated)" if errors else None)

    for k in range(3):
        t = start + k * 10_000
        for symbol in ("BTC/USDT", "HOT/USDT"):
            for exchange, latency in ((names.slow, 3_200), (names.excluded, 150), (names.ok, 120)):
                yield Quote(exchange, symbol, 100.0, 100.5, None, None, None, None, t + 1_000 - latency, t + 1_000, "simulated")
        yield SpreadExclusions("HOT/USDT", t + 1_000, ((names.excluded, "outlier", OUTLIER),))
        for exchange in (names.slow, names.excluded, names.ok):
            yield status(exchange, t + 5_000)
        yield status(names.failing, t + 5_000, "backoff", errors=4 * (k + 1))
    yield status(names.ok, start + 30_000)


def health_points(run: str, now: datetime) -> tuple[SeededHealth, list[Point]]:
    """The run's four exchanges (``hf<run>``, ``hs<run>``, ``hx<run>``, ``ho<run>``) and their points."""
    names = SeededHealth(f"hf{run}", f"hs{run}", f"hx{run}", f"ho{run}")
    now_ms = int(now.timestamp() * 1000)
    start = now_ms - now_ms % 10_000 - 40_000
    rules, state, out = HealthRules(), HealthState(), []
    for event in _events(names, start):
        state, new = rules.update(state, event)
        out += new
    seeded = SeededHealth(*names.exchanges, last={h.exchange: h for h in out})
    return seeded, [health_point(h) for h in out]
