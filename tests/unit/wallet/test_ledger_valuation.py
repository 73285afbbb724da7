"""Ledger replay and valuation against hand-computed FIFO P&L with fees (docs/wallets.md)."""

from __future__ import annotations

import pytest

from contracts.spread import SpreadRecord
from contracts.wallet import LedgerEntry
from rules.crypto.fees import FeeTable
from rules.wallet.ledger import LedgerError, replay
from rules.wallet.valuation import merge_positions, value_positions

KNOWN = {"BTC", "ETH", "BNB"}
T0 = 1_767_225_600_000


def e(i: int, kind: str, asset: str, qty: float, price: float | None = None, fee: float = 0.0,
      fee_asset: str | None = None, quote: str | None = None) -> LedgerEntry:
    return LedgerEntry(T0 + i, kind, asset, qty, price, quote, fee, fee_asset)  # type: ignore[arg-type]


TRADES = [
    e(0, "deposit", "USDT", 10_000),
    e(1, "buy", "BTC", 0.1, 30_000, fee=3),  # USDT 6997; lot 0.1 BTC costing 3003
    e(2, "buy", "BTC", 0.1, 40_000, fee=0.0001, fee_asset="BTC"),  # USDT 2997; lot 0.0999 BTC costing 4000
    e(3, "sell", "BTC", 0.15, 50_000, fee=7.5),  # proceeds 7492.5; FIFO cost 3003 + 0.05/0.0999*4000
]


def spread(symbol: str, bid: float, bid_exchange: str, ask: float, ts: int = T0 + 10) -> SpreadRecord:
    mid = (bid + ask) / 2
    return SpreadRecord(symbol, ts, bid, bid_exchange, ask, "kraken", mid, ask - bid, (ask - bid) / mid * 100, 0.0, 2, [])


def test_fifo_with_fees_in_quote_and_in_asset() -> None:
    pos = replay(TRADES, "USDT", KNOWN)
    second_lot_cost_sold = 0.05 / 0.0999 * 4000  # 2002.002002...
    assert pos["USDT"].quantity == pytest.approx(10_489.5)
    btc = pos["BTC"]
    assert btc.quantity == pytest.approx(0.0499)
    assert btc.cost == pytest.approx(4000 - second_lot_cost_sold)  # 1997.997998
    assert btc.realized_pnl == pytest.approx(7492.5 - 3003 - second_lot_cost_sold)  # 2487.497998
    assert btc.uncosted_quantity == 0


def test_valuation_at_best_bid_net_of_taker_fee_and_at_mid() -> None:
    pos = replay(TRADES, "USDT", KNOWN)
    fees = FeeTable({"binance": 0.001})
    v = value_positions("trader", "*", T0 + 20, pos, "USDT", {"BTC/USDT": spread("BTC/USDT", 60_000, "binance", 60_020)}, fees)
    btc_bid = 0.0499 * 60_000 * 0.999  # 2991.006
    assert v.value_bid == pytest.approx(10_489.5 + btc_bid)
    assert v.value_mid == pytest.approx(10_489.5 + 0.0499 * 60_010)
    by = {a.asset: a for a in v.assets}
    assert by["BTC"].value_bid == pytest.approx(btc_bid)
    assert by["BTC"].unrealized_pnl == pytest.approx(btc_bid - (4000 - 0.05 / 0.0999 * 4000))  # 993.008002
    assert by["BTC"].allocation_pct == pytest.approx(btc_bid / (10_489.5 + btc_bid) * 100)
    assert by["USDT"].allocation_pct == pytest.approx(10_489.5 / (10_489.5 + btc_bid) * 100)
    assert by["BTC"].price_exchange == "binance"
    assert v.realized_pnl == pytest.approx(2487.497998, abs=1e-6)
    assert v.unrealized_pnl == pytest.approx(993.008002, abs=1e-6)
    assert v.unpriced == ()


def test_unknown_fee_exchange_uses_the_default_and_stale_prices_are_unpriced() -> None:
    pos = replay(TRADES, "USDT", KNOWN)
    fees = FeeTable({}, default=0.002)
    v = value_positions("trader", "*", T0 + 20, pos, "USDT", {"BTC/USDT": spread("BTC/USDT", 60_000, "xt", 60_020)}, fees)
    assert {a.asset: a.value_bid for a in v.assets}["BTC"] == pytest.approx(0.0499 * 60_000 * 0.998)
    stale = value_positions("trader", "*", T0 + 200_000, pos, "USDT", {"BTC/USDT": spread("BTC/USDT", 60_000, "xt", 60_020)},
                            fees, max_age_ms=120_000)
    assert stale.unpriced == ("BTC",)
    assert stale.value_bid == pytest.approx(10_489.5)
    assert {a.asset: a.unrealized_pnl for a in stale.assets}["BTC"] is None


def test_uncosted_deposit_counts_in_value_but_in_no_pnl() -> None:
    entries = [e(0, "deposit", "ETH", 1, 1000), e(1, "deposit", "ETH", 1), e(2, "sell", "ETH", 1.5, 2000)]
    pos = replay(entries, "USDT", KNOWN)
    # FIFO: 1 ETH costing 1000 and 0.5 uncosted leave; the costed 2/3 of 3000 proceeds realize 2000 - 1000
    assert pos["ETH"].realized_pnl == pytest.approx(1000)
    assert pos["ETH"].quantity == pytest.approx(0.5)
    assert pos["ETH"].uncosted_quantity == pytest.approx(0.5)
    assert pos["ETH"].cost == 0
    assert pos["USDT"].quantity == pytest.approx(3000)
    v = value_positions("t", "a", T0, pos, "USDT", {"ETH/USDT": spread("ETH/USDT", 2000, "binance", 2002, ts=T0)}, FeeTable({"binance": 0.0}))
    assert {a.asset: a.unrealized_pnl for a in v.assets}["ETH"] == 0  # the half ETH left has no cost basis


def test_fee_in_a_third_asset_realizes_its_cost_and_withdrawal_realizes_nothing() -> None:
    entries = [e(0, "deposit", "USDT", 5000), e(1, "deposit", "BNB", 1, 300),
               e(2, "buy", "ETH", 1, 2000, fee=0.01, fee_asset="BNB"), e(3, "withdrawal", "ETH", 0.4)]
    pos = replay(entries, "USDT", KNOWN)
    assert pos["BNB"].quantity == pytest.approx(0.99)
    assert pos["BNB"].realized_pnl == pytest.approx(-3.0)
    assert pos["ETH"].quantity == pytest.approx(0.6)
    assert pos["ETH"].cost == pytest.approx(1200)
    assert pos["ETH"].realized_pnl == 0
    assert pos["USDT"].quantity == pytest.approx(3000)


def test_merged_accounts_add_up() -> None:
    a = replay([e(0, "deposit", "BTC", 1, 100)], "USDT", KNOWN)
    b = replay([e(0, "deposit", "BTC", 2, 200), e(1, "sell", "BTC", 1, 300)], "USDT", KNOWN)
    m = merge_positions([a, b])
    assert (m["BTC"].quantity, m["BTC"].cost, m["BTC"].realized_pnl, m["USDT"].quantity) == (2, 300, 100, 300)


@pytest.mark.parametrize(("entries", "index", "reason"), [
    ([e(0, "deposit", "USDT", 100), e(1, "buy", "BTC", 1, 100, fee=0.5)], 1, "USDT balance 100 is less than the 100.5 paid"),
    ([e(0, "deposit", "BTC", 1), e(1, "sell", "BTC", 2, 10)], 1, "BTC balance 1 is less than the 2 sold"),
    ([e(0, "deposit", "BTC", 1), e(1, "withdrawal", "BTC", 1.5)], 1, "BTC balance 1 is less than the 1.5 withdrawn"),
    ([e(0, "deposit", "DOGECOIN", 1)], 0, "unknown asset 'DOGECOIN'"),
    ([e(0, "deposit", "USDT", 100), e(1, "buy", "BTC", 1, 10, quote="EUR")], 1, "trades are against USDT only, not EUR"),
    ([e(0, "buy", "BTC", 1)], 0, "a buy needs a price"),
    ([e(0, "deposit", "BTC", -1)], 0, "quantity must be positive"),
    ([e(0, "deposit", "USDT", 10), e(1, "deposit", "USDT", 5), e(2, "withdrawal", "USDT", 15.000001)], 2, "USDT balance 15 is less"),
])
def test_bad_entries_name_their_index(entries: list[LedgerEntry], index: int, reason: str) -> None:
    with pytest.raises(LedgerError) as err:
        replay(entries, "USDT", KNOWN)
    assert err.value.index == index
    assert err.value.reason.startswith(reason)


def test_float_sums_are_not_negative_balances() -> None:
    pos = replay([e(0, "deposit", "USDT", 0.1), e(1, "deposit", "USDT", 0.2), e(2, "withdrawal", "USDT", 0.3)], "USDT", KNOWN)
    assert pos["USDT"].quantity == pytest.approx(0)
