"""ccxt's real binance class against locally served account and myTrades answers: import, fees, sync, keys."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from collectors.clients import make_client
from rules.wallet.exchange_sync import trade_entry
from tests.unit.crypto.local_exchange import LocalExchangeServer, point_at, serve_fixtures
from wallets.credentials import encrypt_credentials, load_or_create_fernet
from wallets.exchange_import import import_exchange
from wallets.store import WalletScope, WalletStore

NOW = 1_796_117_000_000
ME = WalletScope(owner="trader")
SECRET = "binance-secret-never-logged"


def _factory(server: LocalExchangeServer, seen: list[dict[str, Any]]) -> Any:
    def make(exchange_id: str, **kwargs: Any) -> Any:
        seen.append({k: kwargs.get(k) for k in ("apiKey", "secret")})
        # currencies and margin pairs are further private calls with no fixture here: off
        options = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}
        client = make_client(exchange_id, rateLimit=5, options=options, **kwargs)
        return point_at(client, server)
    return make


async def _import(store: WalletStore, account_id: int, key_file: Path, seen: list[dict[str, Any]]) -> tuple[Any, list[str]]:
    async with serve_fixtures() as server:
        result = await import_exchange(store, ME, account_id, load_or_create_fernet(key_file),
                                       client_factory=_factory(server, seen), now_ms=NOW)
        return result, server.paths()


def test_binance_balance_and_trades_import_to_hand_computed_fifo(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = WalletStore.open(f"sqlite:///{tmp_path / 'w.sqlite'}", "USDT", {"BTC", "ETH", "SOL", "USDT"})
    key_file = tmp_path / "wallet.key"
    acct = store.create_account("trader", "binance main", "exchange", "binance")
    store.set_api_key(acct.account_id, encrypt_credentials(load_or_create_fernet(key_file), {"apiKey": "AK1", "secret": SECRET}))
    seen: list[dict[str, Any]] = []
    result, paths = asyncio.run(_import(store, acct.account_id, key_file, seen))
    assert seen == [{"apiKey": "AK1", "secret": SECRET}]  # the decrypted key reached ccxt
    assert paths == ["/binance/public/exchangeInfo", "/binance/private/account",
                     "/binance/private/myTrades", "/binance/private/myTrades"]  # BTC/USDT and ETH/USDT: held; SOL not
    assert result.symbols == ("BTC/USDT", "ETH/USDT")
    # the fixture answers BTCUSDT trades for both symbols: imported once, by trade id
    assert (result.trades, result.transfers, result.added) == (3, 2, 5)
    assert result.skipped_assets == ("LDBTC",)
    entries = [s.entry for s in store.entries(ME, acct.account_id)]
    assert [(e.kind, e.asset, e.quantity, e.fee, e.fee_asset, e.ref) for e in entries] == [
        ("deposit", "ETH", 2.0, 0.0, None, None),  # held before the trades, no cost basis
        ("deposit", "USDT", pytest.approx(10_000.0), 0.0, None, None),  # what the three trades needed
        ("buy", "BTC", 0.1, 3.0, "USDT", "binance:28457101"),
        ("buy", "BTC", 0.1, 0.0001, "BTC", "binance:28457102"),
        ("sell", "BTC", 0.15, 7.5, "USDT", "binance:28457103"),
    ]
    assert entries[0].ts_ms == entries[1].ts_ms == 1_796_115_900_000 - 1
    pos = store.positions(ME, acct.account_id)
    assert pos["USDT"].quantity == pytest.approx(10_489.5)
    assert pos["BTC"].quantity == pytest.approx(0.0499)  # free 0.0449 + locked 0.005
    assert pos["BTC"].realized_pnl == pytest.approx(7492.5 - 3003 - 0.05 / 0.0999 * 4000)
    assert pos["ETH"].uncosted_quantity == 2.0
    # again: the same answers add nothing
    again, _ = asyncio.run(_import(store, acct.account_id, key_file, seen))
    assert (again.trades, again.transfers, again.added) == (0, 0, 0)
    assert SECRET not in caplog.text and "AK1" not in caplog.text


def test_trade_not_against_the_currency_is_left_out() -> None:
    t = {"symbol": "ETH/BTC", "timestamp": 1, "side": "buy", "amount": 1.0, "price": 0.05, "id": "9", "fee": None}
    assert trade_entry("binance", t, "USDT") is None
