"""The crypto pipeline end to end through the real Kafka, Bytewax process and InfluxDB.

(a) The simulated market through the real collector process into a one-partition tickers topic,
plus hand-made invalid messages; the real flow process then must produce exactly what the pure
rules compute from the same topic in the same order: every spread record and alert (Kafka), every
valid quote, spread, extremes and OHLC bar (InfluxDB), every invalid message in the dead letters
with its reason, the other coin behind HOT/USDT excluded and reported.
(b) The real ccxt binance, kraken and coinbaseexchange classes against the local fixture server,
through the collector loop and real Kafka into the flow: the normalized quotes are in InfluxDB
with their exact values.

Each test writes to its own topics and its own throwaway InfluxDB bucket, so it reads only its data.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from collectors.clients import make_client
from collectors.poller import ExchangePoller
from collectors.runner import run_collector
from contracts.quote import InvalidQuote, Quote, from_json
from rules.crypto.arbitrage import ArbitrageRules
from rules.crypto.config import DEFAULT_EXCHANGES, CryptoSettings
from rules.crypto.ohlc import fold_ohlc
from rules.crypto.pipeline import SymbolRules
from settings.stack import REPO_ROOT, StackSettings
from sinks.influx_points.crypto import quote_time_ms
from sinks.kafka_producer import KafkaProduce
from sinks.quote_outputs import produce_outputs
from tests.support.buckets import flow_env_for_bucket, temp_bucket
from tests.support.services import consume, influx_query, kafka_topics, require_stack, running_flow, unique
from tests.unit.crypto.local_exchange import point_at, serve_fixtures

pytestmark = pytest.mark.integration

FLOW = "dataflows.crypto_prices:build_flow()"
STORE = "dataflows.crypto_store:build_flow()"


def store_env(tickers: str, points: str, deadletter: str) -> dict[str, str]:
    """The crypto store of a test: its topics; the bucket comes from ``flow_env_for_bucket``."""
    return {"CRYPTO_FLOW_POINTS_TOPIC": points, "CRYPTO_STORE_TICKERS_TOPIC": tickers,
            "CRYPTO_STORE_POINTS_TOPIC": points, "CRYPTO_STORE_DEADLETTER_TOPIC": deadletter}
EXCHANGES = DEFAULT_EXCHANGES[:9]  # the simulated market's 8th (bitget) lists HOT/USDT as another coin
SYMBOLS = ("BTC/USDT", "ETH/USDT", "HOT/USDT")
QUOTE_FIELDS = ("bid", "ask", "last", "bid_size", "ask_size", "base_volume", "recv_ts_ms")


def read_topic(s: StackSettings, topic: str) -> list[Any]:
    """Every message of ``topic`` up to its current end, partition by partition, in offset order."""
    consumer = Consumer({**s.kafka_config(), "group.id": unique("read"), "enable.auto.commit": "false", "log_level": 2})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        out: list[Any] = []
        for p in sorted(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            consumer.assign([TopicPartition(topic, p, low)])
            offset = low - 1
            while offset < high - 1:
                m = consumer.poll(5)
                assert m is not None, f"{topic}[{p}]: no message before offset {high}"
                assert m.error() is None, m.error()
                out.append(m)
                offset = m.offset()
        return out
    finally:
        consumer.close()


def pivoted(s: StackSettings, bucket: str, measurement: str) -> list[dict]:
    """All points of one measurement of a private bucket, one row per point."""
    return influx_query(s, f'''
        from(bucket: "{bucket}") |> range(start: 0)
          |> filter(fn: (r) => r._measurement == "{measurement}")
          |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
          |> group()''')


def wait_rows(s: StackSettings, bucket: str, measurement: str, until, timeout_s: float) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = pivoted(s, bucket, measurement)
        if until(rows):
            return rows
        time.sleep(1)
    return rows


def ms(row: dict) -> int:
    return int(row["_time"].timestamp() * 1000)


def invalid_messages(exchange: str) -> list[tuple[bytes, str]]:
    """(raw value, expected reason) of messages the flow must reject."""
    good = {"exchange": exchange, "symbol": "BTC/USDT", "bid": 100.0, "ask": 100.5, "last": None, "bid_size": None,
            "ask_size": None, "base_volume": None, "exchange_ts_ms": None, "recv_ts_ms": int(time.time() * 1000)}

    def doc(**over: Any) -> bytes:
        return orjson.dumps({**good, **over})

    return [
        (b"{not json", "payload is not JSON"),
        (b"[1, 2]", "payload is not a JSON object"),
        (doc(bid=101.0), "crossed book: bid 101.0 > ask 100.5"),
        (doc(bid=0), "bid: price must be positive, got 0"),
        (doc(ask=-3.0), "ask: price must be positive, got -3.0"),
        (doc(ask=500.0), "absurd book: ask 500.0 is more than 2x bid 100.0"),
        (doc(symbol="BTCUSDT"), "symbol: not a ccxt unified symbol (BASE/QUOTE): 'BTCUSDT'"),
        (doc(bid="abc"), "bid: not a number: 'abc'"),
    ]


def expected_outputs(quotes: list[Quote], settings: CryptoSettings) -> tuple[list, list, list]:
    """Spreads, extremes and alerts of the pure rules for ``quotes`` in this order."""
    rules, arbitrage = SymbolRules.from_settings(settings), ArbitrageRules.from_settings(settings)
    books: dict[str, Any] = {}
    episodes: dict[str, Any] = {}
    spreads, extremes, alerts = [], [], []
    for q in quotes:
        books[q.symbol], update = rules.update(books.get(q.symbol), q)
        if update is None:
            continue
        if update.extremes is not None:
            extremes.append(update.extremes)
        if update.spread is not None:
            spreads.append(update.spread)
            episodes[q.symbol], new = arbitrage.update(episodes.get(q.symbol), update.spread)
            alerts += new
    return spreads, extremes, alerts


def by_key(records: list[dict], key: str = "symbol") -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        out[r[key]].append(r)
    return dict(out)


def last_per(items: list, key) -> dict:
    """InfluxDB keeps one point per series and time: the last one written."""
    return {key(i): i for i in items}


def test_simulated_market_through_collector_and_flow() -> None:
    s = require_stack()
    run = unique("cx")
    tickers, spreads_t, alerts_t, dead_t, points_t = (f"{run}.{n}" for n in ("tickers", "spreads", "alerts", "deadletter", "points"))
    fees = {e: 0.0001 for e in EXCHANGES}  # small fees: the simulated market then opens and closes episodes
    rules_env = {"CRYPTO_EXCHANGES": ",".join(EXCHANGES), "CRYPTO_SYMBOLS": ",".join(SYMBOLS),
                 "CRYPTO_TAKER_FEES": orjson.dumps(fees).decode(), "CRYPTO_ARBITRAGE_THRESHOLD_PCT": "0.05",
                 "CRYPTO_ARBITRAGE_HYSTERESIS_PCT": "0.02"}
    settings = CryptoSettings(exchanges=list(EXCHANGES), symbols=list(SYMBOLS), taker_fees=fees,
                              arbitrage_threshold_pct=0.05, arbitrage_hysteresis_pct=0.02)
    bad = invalid_messages(EXCHANGES[0])
    with kafka_topics(s, tickers, partitions=1), kafka_topics(s, spreads_t, alerts_t, dead_t, points_t), \
            temp_bucket(s, run) as bucket:
        env = {**rules_env, **flow_env_for_bucket(s, bucket), "CRYPTO_FLOW_TICKERS_TOPIC": tickers,
               "CRYPTO_FLOW_SPREADS_TOPIC": spreads_t, "CRYPTO_FLOW_ALERTS_TOPIC": alerts_t,
               "CRYPTO_FLOW_DEADLETTER_TOPIC": dead_t, "CRYPTO_FLOW_FROM_BEGINNING": "true",
               **store_env(tickers, points_t, dead_t)}
        with running_flow(FLOW, env) as flow, running_flow(STORE, env):
            collector = subprocess.run(
                [sys.executable, "-m", "collectors.ccxt_collector", "--simulated", "yes", "--out", "kafka",
                 "--exchanges", ",".join(EXCHANGES), "--symbols", ",".join(SYMBOLS), "--poll-interval", "1",
                 "--duration", "15", "--progress-every", "5", "--tickers-topic", tickers, "--deadletter-topic", dead_t],
                cwd=REPO_ROOT, env={**os.environ, **rules_env}, capture_output=True, timeout=120)
            assert collector.returncode == 0, collector.stderr.decode()[-3000:]
            producer = Producer(s.kafka_config())
            for i, (value, _) in enumerate(bad):
                producer.produce(tickers, value, f"inject:{i}".encode())
            assert producer.flush(30) == 0

            # What the flow read, in its order (one partition, one worker), and what it must make of it.
            raw = read_topic(s, tickers)
            quotes: list[Quote] = []
            rejected: list[tuple[bytes, str]] = []
            for m in raw:
                try:
                    quotes.append(from_json(m.value()))
                except InvalidQuote as exc:
                    rejected.append((m.value(), exc.reason))
            assert len(quotes) > 300 and len(rejected) == len(bad)
            spreads, extremes, alerts = expected_outputs(quotes, settings)
            assert alerts, "the test needs arbitrage episodes to compare"

            got_spreads = [orjson.loads(m.value()) for m in consume(s, spreads_t, lambda ms_: len(ms_) >= len(spreads), 90)]
            got_alerts = [orjson.loads(m.value()) for m in consume(s, alerts_t, lambda ms_: len(ms_) >= len(alerts), 30)]
            letters = [orjson.loads(m.value())
                       for m in consume(s, dead_t, lambda ms_: len([d for d in ms_ if d.key().startswith(b"kafka:")]) >= len(bad), 30)]
            quote_rows = wait_rows(s, bucket, "quotes",
                                   lambda r: len(r) >= len(last_per(quotes, lambda q: (q.exchange, q.symbol, quote_time_ms(q)))), 60)
            bars = defaultdict(lambda: None)
            for q in quotes:
                bars[(q.key, q.recv_ts_ms // 60_000)] = fold_ohlc(bars[(q.key, q.recv_ts_ms // 60_000)], q)
            # the last window of a key closes 10 s (CRYPTO_FLOW_OHLC_WAIT_S) after its end, in system time
            ohlc_rows = wait_rows(s, bucket, "ohlc_1m", lambda r: sum(x["count"] for x in r) >= len(quotes), 100)
            spread_rows = pivoted(s, bucket, "spreads")
            extremes_rows = pivoted(s, bucket, "extremes")
        flow_log = flow.log_path.read_text()

    # Kafka: exactly the spread records and alerts of the pure rules, per symbol in order.
    assert len(got_spreads) == len(spreads)
    assert by_key(got_spreads) == by_key([r.to_dict() for r in spreads])
    assert len(got_alerts) == len(alerts)
    assert by_key(got_alerts) == by_key([a.to_dict() for a in alerts])
    # The other coin behind HOT/USDT: excluded as an outlier in every HOT record after it quoted, never best.
    alias = EXCHANGES[7]
    alias_from = min(q.recv_ts_ms for q in quotes if q.exchange == alias and q.symbol == "HOT/USDT")
    hot = [r for r in got_spreads if r["symbol"] == "HOT/USDT"]
    assert hot and all(alias not in (r["best_bid_exchange"], r["best_ask_exchange"]) for r in hot)
    assert all(any(x["exchange"] == alias and x["reason"] == "outlier" for x in r["exchanges_excluded"])
               for r in hot if r["ts"] > alias_from)

    # Dead letters: every invalid message with its reason (plus any crossed ticker the collector rejected).
    from_flow = [d for d in letters if d["source_topic"] == f"kafka:{tickers}"]
    assert len(from_flow) == len(bad)

    def as_json(text: str) -> object:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text

    for value, reason in bad:
        (letter,) = [d for d in from_flow if as_json(d["payload"]) == as_json(value.decode())]
        assert letter["reason"].startswith(reason), (letter["reason"], reason)
    assert all(d["reason"].startswith("crossed book") for d in letters if d["source_topic"].startswith("simulated:"))
    assert len(letters) == len(from_flow) + sum(1 for d in letters if d["source_topic"].startswith("simulated:"))

    # InfluxDB quotes: every valid quote (one point per exchange, symbol and exchange timestamp).
    expected_quotes = last_per(quotes, lambda q: (q.exchange, q.symbol, quote_time_ms(q)))
    got_quotes = {(r["exchange"], r["symbol"], ms(r)): r for r in quote_rows}
    assert got_quotes.keys() == expected_quotes.keys()
    for key, q in expected_quotes.items():
        row = got_quotes[key]
        assert tuple(row.get(f) for f in QUOTE_FIELDS) == tuple(getattr(q, f) for f in QUOTE_FIELDS), key

    # InfluxDB spreads and extremes: the last record of each symbol and book time.
    expected_spread_points = last_per(spreads, lambda r: (r.symbol, r.ts))
    got_spread_points = {(r["symbol"], ms(r)): r for r in spread_rows}
    assert got_spread_points.keys() == expected_spread_points.keys()
    for key, rec in expected_spread_points.items():
        row = got_spread_points[key]
        assert (row["best_bid"], row["best_bid_exchange"], row["best_ask"], row["best_ask_exchange"], row["mid"],
                row["spread_pct"], row["arbitrage_pct_after_fees"], row["exchanges_counted"], row["exchanges_excluded"],
                row["recv_ts_ms"]) == (rec.best_bid, rec.best_bid_exchange, rec.best_ask, rec.best_ask_exchange, rec.mid,
                                       rec.spread_pct, rec.arbitrage_pct_after_fees, rec.exchanges_counted,
                                       len(rec.exchanges_excluded), rec.ts), key
    expected_extremes = last_per(extremes, lambda e: (e.symbol, e.ts))
    assert {(r["symbol"], ms(r)): (r["low"], r["low_exchange"], r["high"], r["high_exchange"]) for r in extremes_rows} == {
        k: (e.low, e.low_exchange, e.high, e.high_exchange) for k, e in expected_extremes.items()}

    # InfluxDB ohlc_1m: one bar per exchange, symbol and minute, equal to the pure fold; nothing late.
    assert {(f'{r["exchange"]}:{r["symbol"]}', ms(r)): (r["open"], r["high"], r["low"], r["close"], r["count"]) for r in ohlc_rows} == {
        (key, (minute + 1) * 60_000): (b.open, b.high, b.low, b.close, b.count) for (key, minute), b in bars.items()}
    assert "ohlc_late_quote" not in flow_log


# --------------------------------------------------------------------------- (b) real ccxt classes

RECV = 1_767_225_601_000
# a live exchange through ccxt: source "ccxt", never "simulated"
EXPECTED_CCXT = [
    Quote("binance", "BTC/USDT", 64950.0, 64950.01, 64950.01, 3.214, 1.05, 18234.512, 1767225600123, RECV, "ccxt"),
    Quote("binance", "ETH/USDT", 3201.49, 3201.5, 3201.5, 41.2, 12.77, 402331.1, 1767225600456, RECV, "ccxt"),
    Quote("kraken", "BTC/USDT", 64950.9, 64951.2, 64951.0, 2.5, 1.0, 1843.90210001, None, RECV, "ccxt"),
    Quote("kraken", "ETH/USDT", 3201.35, 3201.55, 3201.4, 1.75, 4.2, 9021.0, None, RECV, "ccxt"),
    Quote("coinbaseexchange", "BTC/USDT", 64952.49, 64952.51, 64952.5, None, None, 1234.56789012, 1767225600250, RECV, "ccxt"),
    Quote("coinbaseexchange", "ETH/USDT", 3201.18, 3201.25, 3201.2, None, None, 23456.789, 1767225601500, RECV, "ccxt"),
]


async def collect_from_fixtures(produce: KafkaProduce, tickers: str, dead: str) -> list[Any]:
    """One polling round of each real ccxt class against the local server, through the collector loop."""
    settings = CryptoSettings(exchanges=["binance", "kraken", "coinbaseexchange"], symbols=["BTC/USDT", "ETH/USDT"],
                              poll_interval_s=3600, use_websocket=False)
    async with serve_fixtures() as server:
        clients = [make_client("binance", websocket=False, rateLimit=5, options={"fetchMarkets": {"types": ["spot"]}}),
                   make_client("kraken", websocket=False, rateLimit=5),
                   make_client("coinbaseexchange", websocket=False, rateLimit=5)]
        semaphore = asyncio.Semaphore(4)
        pollers = [ExchangePoller(point_at(c, server), settings.symbols, semaphore, 5, 5, clock=lambda: RECV) for c in clients]
        stop = asyncio.Event()

        async def stop_after_first_round() -> None:
            deadline = asyncio.get_running_loop().time() + 30
            while not all(p.listed is not None for p in pollers) or len(server.paths()) < 12:
                assert asyncio.get_running_loop().time() < deadline, server.paths()
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            stop.set()

        stopper = asyncio.create_task(stop_after_first_round())
        stats = await run_collector(pollers, produce_outputs(produce, tickers, dead), settings, stop, 60)
        await stopper
        return stats


def test_real_ccxt_classes_through_kafka_and_flow_to_influx() -> None:
    s = require_stack()
    run = unique("cc")
    tickers, spreads_t, alerts_t, dead_t, points_t = (f"{run}.{n}" for n in ("tickers", "spreads", "alerts", "deadletter", "points"))
    with kafka_topics(s, tickers, spreads_t, alerts_t, dead_t, points_t), temp_bucket(s, run) as bucket:
        produce = KafkaProduce.from_stack()
        stats = asyncio.run(collect_from_fixtures(produce, tickers, dead_t))
        assert produce.flush() == 0 and produce.failed == 0
        assert {st.exchange: (st.quotes, st.dead, st.polls) for st in stats} == {
            "binance": (2, 0, 1), "kraken": (2, 0, 1), "coinbaseexchange": (2, 0, 1)}
        env = {**flow_env_for_bucket(s, bucket), "CRYPTO_FLOW_TICKERS_TOPIC": tickers, "CRYPTO_FLOW_SPREADS_TOPIC": spreads_t,
               "CRYPTO_FLOW_ALERTS_TOPIC": alerts_t, "CRYPTO_FLOW_DEADLETTER_TOPIC": dead_t, "CRYPTO_FLOW_FROM_BEGINNING": "true",
               **store_env(tickers, points_t, dead_t)}
        with running_flow(FLOW, env), running_flow(STORE, env):
            rows = wait_rows(s, bucket, "quotes", lambda r: len(r) >= len(EXPECTED_CCXT), 60)
            spread_msgs = consume(s, spreads_t, lambda m: len(m) >= 4, 30)
    got = {(r["exchange"], r["symbol"]): (ms(r), *(r.get(f) for f in QUOTE_FIELDS)) for r in rows}
    assert len(rows) == len(EXPECTED_CCXT)
    assert got == {(q.exchange, q.symbol): (quote_time_ms(q), *(getattr(q, f) for f in QUOTE_FIELDS)) for q in EXPECTED_CCXT}
    # 3 exchanges x 2 symbols: every quote but the first of each symbol makes a spread record
    assert len(spread_msgs) == 4
    assert {orjson.loads(m.value())["exchanges_counted"] for m in spread_msgs} == {2, 3}
