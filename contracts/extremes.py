"""The ``extremes`` record of a symbol (InfluxDB ``extremes``); built by ``rules.crypto.extremes``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Extremes:
    """Lowest and highest mid across exchanges at ``ts`` (newest recv_ts_ms)."""

    symbol: str
    ts: int
    low: float
    low_exchange: str
    high: float
    high_exchange: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
