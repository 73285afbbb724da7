"""InfluxDB points of the crypto flow, as docs/measurements.md lists them (exact line protocol)."""

from __future__ import annotations

from contracts.extremes import Extremes
from contracts.quote import Quote
from contracts.spread import SpreadRecord
from sinks.influx_points.crypto import extremes_point, ohlc_point, quote_point, spread_point

RECV = 1_767_225_601_000


def test_quote_point_time_is_exchange_ts_else_receive_time() -> None:
    q = Quote("binance", "BTC/USDT", 64950.0, 64950.01, 64950.01, 3.214, 1.05, 18234.512, 1767225600123, RECV)
    # floats are written without a trailing ".0" (still floats: integers carry an "i")
    assert quote_point(q).to_line_protocol() == (
        "quotes,exchange=binance,source=unknown,symbol=BTC/USDT ask=64950.01,ask_size=1.05,base_volume=18234.512,bid=64950,"
        "bid_size=3.214,last=64950.01,recv_ts_ms=1767225601000i 1767225600123")
    k = Quote("kraken", "ETH/USDT", 3201.35, 3201.55, None, None, None, None, None, RECV)
    assert quote_point(k).to_line_protocol() == (
        f"quotes,exchange=kraken,source=unknown,symbol=ETH/USDT ask=3201.55,bid=3201.35,recv_ts_ms={RECV}i {RECV}")


def test_spread_extremes_ohlc_points() -> None:
    s = SpreadRecord("BTC/USDT", RECV, 101.0, "kraken", 100.0, "binance", 100.5, -1.0, -0.995, 0.7, 3,
                     [{"exchange": "bitget", "reason": "outlier", "detail": "x"}])
    assert spread_point(s).to_line_protocol() == (
        'spreads,symbol=BTC/USDT arbitrage_pct_after_fees=0.7,best_ask=100,best_ask_exchange="binance",best_bid=101,'
        f'best_bid_exchange="kraken",exchanges_counted=3i,exchanges_excluded=1i,mid=100.5,recv_ts_ms={RECV}i,'
        f"spread=-1,spread_pct=-0.995 {RECV}")
    e = Extremes("BTC/USDT", RECV, 99.0, "okx", 101.0, "kraken")
    assert extremes_point(e).to_line_protocol() == (
        f'extremes,symbol=BTC/USDT high=101,high_exchange="kraken",low=99,low_exchange="okx" {RECV}')
    bar = {"exchange": "okx", "symbol": "BTC/USDT", "window_start_ms": 1_767_225_600_000, "window_end_ms": 1_767_225_660_000,
           "open": 1.0, "high": 2, "low": 0.5, "close": 1.5, "count": 4, "open_ts": 0, "close_ts": 0}
    assert ohlc_point(bar).to_line_protocol() == (
        "ohlc_1m,exchange=okx,symbol=BTC/USDT close=1.5,count=4i,high=2,low=0.5,open=1 1767225660000")
