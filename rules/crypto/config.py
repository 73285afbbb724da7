"""Every setting of the crypto collector and rules, declared once, typed, with its unit.

A plain frozen model, passed to the collector and the rules; ``settings.rules_env`` builds it
from the environment with the prefix ``CRYPTO_`` (e.g. ``CRYPTO_STALE_AFTER_S=20``).
Lists accept JSON (``["binance","kraken"]``) or a comma-separated string (``binance,kraken``).
Fees are fractions (0.001 = 0.1 %) like ccxt's ``fees``; thresholds named ``*_pct`` are percent.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# 45 real ccxt ids of spot exchanges that offer fetchTickers (checked against ccxt in the tests).
DEFAULT_EXCHANGES: tuple[str, ...] = (
    "binance", "okx", "bybit", "coinbaseexchange", "kraken", "kucoin", "gate", "bitget", "mexc",
    "htx", "bitfinex", "bitstamp", "gemini", "cryptocom", "bingx", "poloniex", "bitvavo", "upbit",
    "bithumb", "lbank", "phemex", "whitebit", "bitrue", "digifinex", "hitbtc", "luno", "ndax",
    "latoken", "bigone", "xt", "woo", "hollaex", "btcturk", "bitopro", "binanceus", "bequant",
    "blockchaincom", "cex", "coinone", "deepcoin", "hashkey", "indodax", "onetrading",
    "tokocrypto", "toobit",
)  # fmt: skip

DEFAULT_SYMBOLS: tuple[str, ...] = (
    "BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "BNB/USDT", "ADA/USDT", "DOGE/USDT",
    "TRX/USDT", "AVAX/USDT", "LINK/USDT", "DOT/USDT", "LTC/USDT", "BCH/USDT", "XLM/USDT",
    "ATOM/USDT", "ETC/USDT", "UNI/USDT", "FIL/USDT", "NEAR/USDT", "HOT/USDT",
)  # fmt: skip

class CryptoSettings(BaseModel):
    """Collector and spread-rule settings (env prefix ``CRYPTO_``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exchanges: list[str] = Field(list(DEFAULT_EXCHANGES), description="ccxt exchange ids to collect from")
    symbols: list[str] = Field(list(DEFAULT_SYMBOLS), description="ccxt unified symbols, e.g. BTC/USDT")
    poll_interval_s: float = Field(5.0, gt=0, description="seconds between two fetch_tickers polls of one exchange")
    use_websocket: bool = Field(True, description="use ccxt.pro watch_tickers/watch_ticker where the exchange has it")
    ws_quiet_s: float = Field(30.0, gt=0, description="seconds without a websocket update before polling REST instead")
    request_timeout_s: float = Field(10.0, gt=0, description="seconds one ccxt call may take before it is abandoned")
    max_concurrency: int = Field(16, ge=1, description="ccxt calls in flight at once, across all exchanges")
    backoff_initial_s: float = Field(1.0, gt=0, description="first wait after a rate-limit or network error, seconds")
    backoff_max_s: float = Field(120.0, gt=0, description="longest wait between retries of one exchange, seconds")
    orderbook_limit: int = Field(5, ge=1, description="order book depth asked for when the ticker has no bid/ask")
    simulated: bool = Field(False, description="collect from the simulated market instead of real exchanges")
    simulated_seed: int = Field(7, description="seed of the simulated market (same seed = same prices)")
    stale_after_s: float = Field(30.0, gt=0, description="a quote older than this (vs the newest quote of its symbol) drops out, seconds")
    evict_after_s: float = Field(600.0, gt=0, description="a quote older than this is forgotten from the state, seconds")
    outlier_pct: float = Field(10.0, gt=0, description="a mid more than this percent from the cross-exchange median is excluded")
    min_exchanges: int = Field(2, ge=2, description="exchanges needed in the book before a spread record is emitted")
    arbitrage_threshold_pct: float = Field(0.3, description="alert when arbitrage after taker fees exceeds this percent")
    arbitrage_hysteresis_pct: float = Field(0.05, ge=0, description="an open arbitrage episode closes at threshold minus this percent")
    default_taker_fee: float = Field(0.002, ge=0, lt=1, description="taker fee (fraction) when ccxt knows none for an exchange")
    taker_fees: dict[str, float] = Field(default_factory=dict, description='per-exchange taker fee overrides (fraction), JSON {"binance": 0.00075}')
    ohlc_window_s: int = Field(60, gt=0, description="OHLC tumbling window length, seconds (event time)")

    @field_validator("exchanges", "symbols", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("taker_fees")
    @classmethod
    def _fees_are_fractions(cls, value: dict[str, float]) -> dict[str, float]:
        for exchange, fee in value.items():
            if not 0 <= fee < 0.1:
                raise ValueError(f"taker fee of {exchange} must be a fraction in [0, 0.1), got {fee}")
        return value
