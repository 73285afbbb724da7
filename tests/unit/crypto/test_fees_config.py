"""Fee table from ccxt with overrides; CRYPTO_ settings parsing; default exchange list is real."""

from __future__ import annotations

import ccxt
import pytest

from rules.crypto.config import DEFAULT_EXCHANGES, DEFAULT_SYMBOLS, CryptoSettings
from rules.crypto.fees import FeeTable, build_fee_table, ccxt_taker_fee
from settings.errors import ConfigError
from settings.rules_env import load_crypto_settings


def test_fees_from_ccxt_then_overrides_then_default() -> None:
    table = build_fee_table(["binance", "kraken", "bitget", "nope"], {"kraken": 0.0016, "other": 0.003}, default=0.0025)
    assert table.taker("binance") == 0.001  # ccxt: binance fees['trading']['taker']
    assert table.taker("kraken") == 0.0016  # override wins over ccxt's 0.0026
    assert table.taker("other") == 0.003
    assert table.taker("bitget") == 0.0025  # ccxt publishes none for bitget
    assert table.taker("nope") == 0.0025
    assert ccxt_taker_fee("coinbaseexchange") == 0.006 and ccxt_taker_fee("nope") is None


def test_fee_table_keeps_its_own_copy() -> None:
    fees = {"a": 0.001}
    table = FeeTable(fees)
    fees["a"] = 0.5
    assert table.taker("a") == 0.001


def test_default_exchanges_are_45_real_spot_ccxt_ids_with_fetch_tickers() -> None:
    assert len(DEFAULT_EXCHANGES) == 45 == len(set(DEFAULT_EXCHANGES))
    for exchange_id in DEFAULT_EXCHANGES:
        assert exchange_id in ccxt.exchanges
        assert getattr(ccxt, exchange_id)().has.get("fetchTickers") is True, exchange_id
    assert len(DEFAULT_SYMBOLS) == 20


def test_settings_from_env_accept_csv_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTO_EXCHANGES", "binance, kraken")
    monkeypatch.setenv("CRYPTO_SYMBOLS", '["BTC/USDT", "ETH/USDT"]')
    monkeypatch.setenv("CRYPTO_STALE_AFTER_S", "12.5")
    monkeypatch.setenv("CRYPTO_TAKER_FEES", '{"binance": 0.00075}')
    settings = load_crypto_settings(poll_interval_s=2.0, symbols=None)
    assert settings.exchanges == ["binance", "kraken"]
    assert settings.symbols == ["BTC/USDT", "ETH/USDT"]
    assert settings.stale_after_s == 12.5 and settings.poll_interval_s == 2.0
    assert settings.taker_fees == {"binance": 0.00075}


def test_settings_defaults_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = CryptoSettings()
    assert (settings.stale_after_s, settings.outlier_pct, settings.arbitrage_threshold_pct, settings.poll_interval_s) == (30.0, 10.0, 0.3, 5.0)
    with pytest.raises(ValueError, match="fraction"):
        CryptoSettings(taker_fees={"binance": 0.5})
    monkeypatch.setenv("CRYPTO_TAKER_FEES", '{"binance": 0.5}')
    with pytest.raises(ConfigError, match="CRYPTO_TAKER_FEES"):
        load_crypto_settings()
