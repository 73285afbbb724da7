"""Taker fees per exchange: what an arbitrageur really pays on each side.

Defaults come from ccxt's published ``exchange.fees['trading']['taker']`` (a fraction, the base
tier without discounts), config overrides win, and an exchange ccxt knows nothing about gets
``default``. The table is a plain immutable value so the pure rules never import ccxt.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FeeTable:
    """Taker fee (fraction, 0.001 = 0.1 %) per exchange id."""

    fees: Mapping[str, float] = field(default_factory=dict)
    default: float = 0.002

    def __post_init__(self) -> None:
        object.__setattr__(self, "fees", dict(self.fees))  # own copy: callers cannot change it later

    def taker(self, exchange: str) -> float:
        """The taker fee of ``exchange``, or the default when unknown."""
        return self.fees.get(exchange, self.default)


def ccxt_taker_fee(exchange_id: str) -> float | None:
    """ccxt's published base taker fee of one exchange class, or None when it has none."""
    import ccxt  # imported here: building a fee table is the only place the rules touch ccxt

    cls = getattr(ccxt, exchange_id, None)
    if cls is None:
        return None
    fee = cls().fees.get("trading", {}).get("taker")
    if isinstance(fee, (int, float)) and not isinstance(fee, bool) and math.isfinite(fee) and 0 <= fee < 0.1:
        return float(fee)
    return None


def build_fee_table(
    exchange_ids: Iterable[str], overrides: Mapping[str, float] | None = None, default: float = 0.002
) -> FeeTable:
    """Fees for ``exchange_ids`` from ccxt, then ``overrides`` (which may also name other exchanges)."""
    fees: dict[str, float] = {}
    for exchange_id in exchange_ids:
        fee = ccxt_taker_fee(exchange_id)
        if fee is not None:
            fees[exchange_id] = fee
    fees.update(overrides or {})
    return FeeTable(fees=fees, default=default)
