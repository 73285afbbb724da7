"""The ``crypto.forecasts`` record and the skill record (InfluxDB ``forecasts`` and ``forecast_skill``).

Returns are log-returns of the cross-exchange mid (``ln(price_target / price_at_made_at)``), as
floats, not basis points. Times are epoch milliseconds. ``model`` is the learner's name or one of
the baselines ``random_walk`` (zero return) and ``drift`` (the mean 1-minute return so far times the
horizon). See docs/forecasts.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import orjson


class InvalidSpread(ValueError):
    """A ``crypto.spreads`` record the forecaster cannot use; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MidTick:
    """What the forecaster reads of a ``crypto.spreads`` record: symbol, book clock, cross-exchange mid."""

    symbol: str
    ts: int
    mid: float


def mid_tick_from_json(value: bytes | None) -> MidTick:
    """Decode a ``crypto.spreads`` record; raises ``InvalidSpread`` with the reason."""
    if not value:
        raise InvalidSpread("empty spreads record")
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidSpread("payload is not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidSpread("payload is not a JSON object")
    symbol, ts, mid = doc.get("symbol"), doc.get("ts"), doc.get("mid")
    if not isinstance(symbol, str) or "/" not in symbol:
        raise InvalidSpread(f"symbol: not a ccxt unified symbol: {symbol!r}")
    if not isinstance(ts, int) or isinstance(ts, bool) or ts <= 0:
        raise InvalidSpread(f"ts: not a positive integer of epoch ms: {ts!r}")
    if not isinstance(mid, (int, float)) or isinstance(mid, bool) or not math.isfinite(mid) or mid <= 0:
        raise InvalidSpread(f"mid: not a positive finite price: {mid!r}")
    return MidTick(symbol, ts, float(mid))


@dataclass(frozen=True)
class ForecastRecord:
    """One ``crypto.forecasts`` record: a forecast of ``symbol``'s mid at ``target_time_ms``."""

    symbol: str
    horizon_min: int
    made_at_ms: int
    target_time_ms: int
    model: str
    base_price: float
    predicted_return: float
    predicted_price: float
    lower_return: float
    upper_return: float
    lower_price: float
    upper_price: float
    interval_level: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ForecastRecord:
        return cls(**doc)


@dataclass(frozen=True)
class SkillRecord:
    """The walk-forward skill of one model at one horizon for one symbol, as of ``ts`` (epoch ms).

    Figures that are not defined yet (no matured forecast, a model that never predicts a direction)
    are None here and left out of InfluxDB; ``verdict`` is always a sentence."""

    symbol: str
    horizon_min: int
    model: str
    ts: int
    n: int
    mae: float | None
    mae_random_walk: float | None
    mase: float | None
    directional_n: int
    hits: int
    hit_rate: float | None
    binomial_p: float | None
    dm_stat: float | None
    dm_p_better: float | None
    dm_p_worse: float | None
    coverage: float | None
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
