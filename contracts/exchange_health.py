"""Exchange health records: the collector's per-exchange status (topic ``crypto.exchange_status``),
what the health flow reads of a spread record (which exchanges were excluded and why), and the
health of one exchange over one window (InfluxDB ``exchange_health``, via ``crypto.points``).

Counters of a status record are cumulative since ``started_ms`` (when that collector's task of
the exchange began), so a lost or repeated record loses nothing and a restart is visible (a new
``started_ms``). Times are epoch milliseconds. See docs/exchange-health.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import orjson

# What the collector's task of an exchange is doing (collectors/runner.py).
# "stopped": given up after a permanent error; "ended": the collector shut down.
STATES = ("starting", "streaming", "polling", "backoff", "stopped", "ended")
COUNTERS = ("polls", "quotes", "dead", "errors", "rate_limits", "timeouts", "reconnects")
# Health of an exchange in a window, worst first (rules/crypto/exchange_health.py says when).
HEALTH_LEVELS = ("stopped", "failing", "stale", "slow", "degraded", "excluded", "ok")


class InvalidHealthInput(ValueError):
    """A status or spread record the health flow cannot use; ``reason`` goes to the dead letters."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ExchangeStatus:
    """One ``crypto.exchange_status`` record: what the collector knows of one exchange now."""

    exchange: str
    ts_ms: int
    started_ms: int
    source: str
    state: str
    listed: int | None
    polls: int
    quotes: int
    dead: int
    errors: int
    rate_limits: int
    timeouts: int
    reconnects: int
    last_error: str | None

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))


def _object(value: bytes | None) -> dict[str, Any]:
    if not value:
        raise InvalidHealthInput("empty record")
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidHealthInput("payload is not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidHealthInput("payload is not a JSON object")
    return doc


def _int(doc: dict[str, Any], name: str, *, optional: bool = False) -> int | None:
    value = doc.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidHealthInput(f"{name}: not a non-negative integer: {str(value)[:40]!r}")
    return value


def _str(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value or len(value) > 64:
        raise InvalidHealthInput(f"{name}: not a short string: {str(value)[:40]!r}")
    return value


def status_from_json(value: bytes | None) -> ExchangeStatus:
    """Decode a ``crypto.exchange_status`` value; raises ``InvalidHealthInput`` with the reason."""
    doc = _object(value)
    state = _str(doc, "state")
    if state not in STATES:
        raise InvalidHealthInput(f"state: not one of {', '.join(STATES)}: {state[:40]!r}")
    last_error = doc.get("last_error")
    if last_error is not None and not isinstance(last_error, str):
        raise InvalidHealthInput("last_error: not a string")
    counters = {name: _int(doc, name) for name in COUNTERS}
    return ExchangeStatus(
        exchange=_str(doc, "exchange"), ts_ms=_int(doc, "ts_ms") or 0, started_ms=_int(doc, "started_ms") or 0,
        source=_str(doc, "source"), state=state, listed=_int(doc, "listed", optional=True),
        last_error=None if last_error is None else last_error[:300], **counters,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class SpreadExclusions:
    """What the health flow reads of a ``crypto.spreads`` record: the exchanges left out and why."""

    symbol: str
    ts: int
    excluded: tuple[tuple[str, str, str], ...]  # (exchange, reason, detail)


def exclusions_from_json(value: bytes | None) -> SpreadExclusions:
    """Decode the symbol, clock and ``exchanges_excluded`` of a spread record."""
    doc = _object(value)
    symbol = doc.get("symbol")
    if not isinstance(symbol, str) or "/" not in symbol:
        raise InvalidHealthInput(f"symbol: not a ccxt unified symbol: {str(symbol)[:40]!r}")
    ts = _int(doc, "ts") or 0
    raw = doc.get("exchanges_excluded")
    if not isinstance(raw, list):
        raise InvalidHealthInput("exchanges_excluded: not a list")
    excluded = []
    for item in raw:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("exchange", "reason", "detail")):
            raise InvalidHealthInput("exchanges_excluded: an entry is not {exchange, reason, detail}")
        excluded.append((item["exchange"], item["reason"], item["detail"][:300]))
    return SpreadExclusions(symbol, ts, tuple(excluded))


@dataclass(frozen=True)
class ExchangeHealth:
    """The health of one exchange over ``[window_start_ms, window_end_ms)`` (InfluxDB ``exchange_health``).

    Quote figures come from the quotes received in the window (latency = receive - exchange time,
    of quotes that carry an exchange time); error figures are the collector's counters' growth in
    the window; ``symbols_fresh`` and ``staleness_s`` are as of the window's end; exclusions are
    the exchange's symbols left out of the latest spread record of each symbol."""

    exchange: str
    window_start_ms: int
    window_end_ms: int
    health: str
    reason: str
    state: str
    quotes: int
    quotes_per_s: float
    symbols_listed: int | None
    symbols_fresh: int
    fresh_share: float | None
    staleness_s: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_max_ms: float | None
    polls: int
    errors: int
    rate_limits: int
    timeouts: int
    reconnects: int
    last_error: str | None
    excluded_outlier: int
    excluded_stale: int
    exclusions: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
