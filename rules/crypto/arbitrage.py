"""Arbitrage alerts: one alert when an opportunity opens and one when it closes, not one per update.

An episode is a period in which a symbol's ``arbitrage_pct_after_fees`` stays above the
threshold; it closes when the margin falls to ``threshold - hysteresis`` or below (so a margin
hovering at the threshold does not flap). The best pair may change inside an episode (quotes of
near-equal exchanges alternate): the alert reports the pair of its own record, ``peak_pct`` the
best margin seen. ``alert_id`` is derived from the symbol, the opening pair and the start time, so
a replay gives the same ids and the ``closed`` alert carries the id of its ``opened`` alert.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from typing import Any

from contracts.spread import SpreadRecord


@dataclass(frozen=True)
class ArbitrageEpisode:
    """An open opportunity (Bytewax state per symbol)."""

    alert_id: str
    symbol: str
    buy_exchange: str
    sell_exchange: str
    started_ts: int
    peak_pct: float


@dataclass(frozen=True)
class ArbitrageAlert:
    """One ``crypto.alerts`` record; ``kind`` is ``opened`` or ``closed``; percents after taker fees."""

    alert_id: str
    kind: str
    symbol: str
    ts: int
    buy_exchange: str
    buy_price: float
    sell_exchange: str
    sell_price: float
    arbitrage_pct_after_fees: float
    peak_pct: float
    threshold_pct: float
    started_ts: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def alert_id(symbol: str, buy_exchange: str, sell_exchange: str, started_ts: int) -> str:
    """Deterministic id of one episode (16 hex chars)."""
    text = f"arbitrage|{symbol}|{buy_exchange}|{sell_exchange}|{started_ts}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _alert(kind: str, episode: ArbitrageEpisode, record: SpreadRecord, threshold_pct: float) -> ArbitrageAlert:
    return ArbitrageAlert(
        alert_id=episode.alert_id,
        kind=kind,
        symbol=record.symbol,
        ts=record.ts,
        buy_exchange=record.best_ask_exchange,
        buy_price=record.best_ask,
        sell_exchange=record.best_bid_exchange,
        sell_price=record.best_bid,
        arbitrage_pct_after_fees=record.arbitrage_pct_after_fees,
        peak_pct=episode.peak_pct,
        threshold_pct=threshold_pct,
        started_ts=episode.started_ts,
    )


def update_arbitrage(
    state: ArbitrageEpisode | None, record: SpreadRecord, threshold_pct: float, hysteresis_pct: float = 0.0
) -> tuple[ArbitrageEpisode | None, list[ArbitrageAlert]]:
    """Bytewax ``stateful_map`` mapper keyed by symbol: returns the open episode (or None) and the alerts to send.

    ``opened`` when the margin first exceeds ``threshold_pct``; ``closed`` (reporting the record
    that ended it) when it drops to ``threshold_pct - hysteresis_pct`` or below.
    """
    pct = record.arbitrage_pct_after_fees
    pair = (record.best_ask_exchange, record.best_bid_exchange)
    if state is not None:
        if pct > threshold_pct - hysteresis_pct:
            return replace(state, peak_pct=max(state.peak_pct, pct)), []
        return None, [_alert("closed", state, record, threshold_pct)]
    alerts: list[ArbitrageAlert] = []
    if pct > threshold_pct:
        state = ArbitrageEpisode(
            alert_id=alert_id(record.symbol, pair[0], pair[1], record.ts),
            symbol=record.symbol,
            buy_exchange=pair[0],
            sell_exchange=pair[1],
            started_ts=record.ts,
            peak_pct=pct,
        )
        alerts.append(_alert("opened", state, record, threshold_pct))
    return state, alerts


@dataclass(frozen=True)
class ArbitrageRules:
    """``update_arbitrage`` with its thresholds bound (percent), for ``stateful_map``."""

    threshold_pct: float = 0.3
    hysteresis_pct: float = 0.05

    @classmethod
    def from_settings(cls, settings: Any) -> ArbitrageRules:
        return cls(settings.arbitrage_threshold_pct, settings.arbitrage_hysteresis_pct)

    def update(
        self, state: ArbitrageEpisode | None, record: SpreadRecord
    ) -> tuple[ArbitrageEpisode | None, list[ArbitrageAlert]]:
        return update_arbitrage(state, record, self.threshold_pct, self.hysteresis_pct)
