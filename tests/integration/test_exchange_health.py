"""Exchange health end to end through the real Kafka, Bytewax processes and InfluxDB (issue 12 s.3).

The simulated market with six exchanges through the real collector process: okx made slow (every
answer 3 s late), bybit failing (every ticker request a 429 or a 503), kraken quoting another coin
behind HOT/USDT. The prices flow makes the spreads (with their exclusions), the exchange health
flow the ``exchange_health`` windows, the crypto store writes them. After the collector stops, one
closing record (a quote and a status 60 s later, of an exchange that is no part of the test) closes
the last window; a broken status record goes to the dead letters with its reason. Then, exactly:
every window of bybit is ``failing`` with no quote (its last one may hold the collector's shutdown:
``stopped``), and its errors and rate limits over all windows are the collector's final counters;
every okx window from its first quote on is ``slow`` (median latency >= 3 s); kraken's windows after
its first exclusion are ``excluded`` with the outlier's detail; the three others are ``ok`` from
their first quote on; the quotes of all windows of each exchange add up to its quotes on the
tickers topic; and the page's read puts bybit, okx and kraken first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import orjson
import pandas as pd
import pytest
from confluent_kafka import Producer
from influxdb_client import InfluxDBClient

from access.exchange_health_reads import latest_health
from access.flux import Params
from access.reads import Runner, execute
from access.scope import Scope
from contracts.exchange_health import status_from_json
from contracts.quote import from_json
from rules.crypto.config import DEFAULT_EXCHANGES
from settings.stack import REPO_ROOT, StackSettings
from tests.integration.test_crypto_pipeline import ms, pivoted, read_topic, store_env
from tests.support.buckets import flow_env_for_bucket, temp_bucket
from tests.support.services import consume, kafka_topics, require_stack, running_flow, unique

pytestmark = pytest.mark.integration

PRICES = "dataflows.crypto_prices:build_flow()"
HEALTH = "dataflows.crypto_exchange_health:build_flow()"
STORE = "dataflows.crypto_store:build_flow()"
EXCHANGES = DEFAULT_EXCHANGES[:6]  # binance okx bybit coinbaseexchange kraken kucoin; kraken: HOT/USDT is another coin
SLOW, FAILING, ALIAS = "okx", "bybit", "kraken"
HEALTHY = ("binance", "coinbaseexchange", "kucoin")
SYMBOLS = ("BTC/USDT", "ETH/USDT", "HOT/USDT")
WINDOW_MS = 4_000  # longer than the slow exchange's 3 s answers: each window holds one of its polls
COLLECT_S = 28


def runner(s: StackSettings) -> Runner:
    """The reads' runner over the operator token (the test's bucket is private)."""
    def run(query: str, params: Params) -> pd.DataFrame:
        with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=30_000) as c:
            return execute(c.query_api(), query, params)
    return run


def test_slow_and_failing_exchanges_show_as_such() -> None:
    s = require_stack()
    run = unique("eh")
    t = {n: f"{run}.{n}" for n in ("tickers", "status", "spreads", "alerts", "deadletter", "points")}
    rules_env = {"CRYPTO_EXCHANGES": ",".join(EXCHANGES), "CRYPTO_SYMBOLS": ",".join(SYMBOLS), "CRYPTO_BACKOFF_MAX_S": "1.5"}
    with kafka_topics(s, t["tickers"], t["status"], partitions=1), \
            kafka_topics(s, t["spreads"], t["alerts"], t["deadletter"], t["points"]), temp_bucket(s, run) as bucket:
        env = {**rules_env, **flow_env_for_bucket(s, bucket), "CRYPTO_FLOW_TICKERS_TOPIC": t["tickers"],
               "CRYPTO_FLOW_SPREADS_TOPIC": t["spreads"], "CRYPTO_FLOW_ALERTS_TOPIC": t["alerts"],
               "CRYPTO_FLOW_DEADLETTER_TOPIC": t["deadletter"], **store_env(t["tickers"], t["points"], t["deadletter"]),
               "EXCHANGE_HEALTH_TICKERS_TOPIC": t["tickers"], "EXCHANGE_HEALTH_STATUS_TOPIC": t["status"],
               "EXCHANGE_HEALTH_SPREADS_TOPIC": t["spreads"], "EXCHANGE_HEALTH_POINTS_TOPIC": t["points"],
               "EXCHANGE_HEALTH_DEADLETTER_TOPIC": t["deadletter"], "EXCHANGE_HEALTH_WINDOW_S": str(WINDOW_MS / 1000)}
        with running_flow(PRICES, env), running_flow(HEALTH, env), running_flow(STORE, env):
            collector = subprocess.run(
                [sys.executable, "-m", "collectors.ccxt_collector", "--simulated", "yes", "--out", "kafka",
                 "--exchanges", ",".join(EXCHANGES), "--symbols", ",".join(SYMBOLS), "--poll-interval", "1",
                 "--duration", str(COLLECT_S), "--progress-every", "5", "--status-every", "1",
                 "--simulate-slow", f"{SLOW}:3", "--simulate-failing", FAILING,
                 "--tickers-topic", t["tickers"], "--deadletter-topic", t["deadletter"], "--status-topic", t["status"]],
                cwd=REPO_ROOT, env={**os.environ, **rules_env}, capture_output=True, timeout=120)
            assert collector.returncode == 0, collector.stderr.decode()[-3000:]
            quotes = [from_json(m.value()) for m in read_topic(s, t["tickers"])]
            statuses = [status_from_json(m.value()) for m in read_topic(s, t["status"])]
            last_event = max([q.recv_ts_ms for q in quotes] + [st.ts_ms for st in statuses])
            time.sleep(5)  # the health flow reads live: let it take the last spreads before the closing record
            closing = last_event + 60_000
            producer = Producer(s.kafka_config())
            producer.produce(t["status"], b"{not json", b"broken")  # -> a dead letter with the reason, nothing else
            producer.produce(t["status"], orjson.dumps({
                "exchange": "zz-closing", "ts_ms": closing, "started_ms": closing, "source": "simulated", "state": "polling",
                "listed": 1, "polls": 0, "quotes": 0, "dead": 0, "errors": 0, "rate_limits": 0, "timeouts": 0,
                "reconnects": 0, "last_error": None}), b"zz-closing")
            producer.produce(t["tickers"], orjson.dumps({
                "exchange": "zz-closing", "symbol": "ZZ/USDT", "bid": 1.0, "ask": 1.1, "recv_ts_ms": closing,
                "source": "simulated"}), b"ZZ/USDT")
            assert producer.flush(30) == 0
            last_end = last_event - last_event % WINDOW_MS + WINDOW_MS
            deadline = time.monotonic() + 90
            rows: list[dict] = []
            while time.monotonic() < deadline:
                rows = pivoted(s, bucket, "exchange_health")
                if {r["exchange"] for r in rows if ms(r) == last_end} >= set(EXCHANGES):
                    break
                time.sleep(1)

            letters = [orjson.loads(m.value()) for m in consume(s, t["deadletter"], lambda ms_: any(
                orjson.loads(m.value())["source_topic"] == f"kafka:{t['status']}" for m in ms_), 30)]
        assert [(d["reason"], d["payload"]) for d in letters if d["source_topic"] == f"kafka:{t['status']}"] == [
            ("crypto_exchange_health: payload is not JSON", "{not json")]

        windows: dict[str, list[dict]] = {e: sorted((r for r in rows if r["exchange"] == e), key=ms) for e in EXCHANGES}
        assert all(ms(w[-1]) == last_end for w in windows.values()), {e: ms(w[-1]) for e, w in windows.items() if w}
        assert "zz-closing" not in {r["exchange"] for r in rows}  # its window never closed
        for e, ws in windows.items():  # one point per window, back to back
            ends = [ms(r) for r in ws]
            assert ends == list(range(ends[0], last_end + 1, WINDOW_MS)), e
            assert all(r["quotes_per_s"] == r["quotes"] / (WINDOW_MS / 1000) for r in ws)
        sent = Counter(q.exchange for q in quotes)
        assert {e: sum(r["quotes"] for r in ws) for e, ws in windows.items()} == {e: sent[e] for e in EXCHANGES}
        assert sent[FAILING] == 0 and all(sent[e] > 0 for e in EXCHANGES if e != FAILING)

        final = {st.exchange: st for st in statuses}  # the last record of each exchange
        failing = windows[FAILING]
        # the last window may hold the collector's shutdown without a new error: stopped, saying so
        assert {r["health"] for r in failing[:-1]} == {"failing"} and {r["quotes"] for r in failing} == {0}
        assert failing[-1]["health"] == "failing" or (failing[-1]["health"], failing[-1]["reason"][:25]) == (
            "stopped", "the collector shut down: ")
        assert sum(r["errors"] for r in failing) == final[FAILING].errors > 5
        assert sum(r["rate_limits"] for r in failing) == final[FAILING].rate_limits > 2
        assert all(r["reason"].startswith("no quote, ") for r in failing[:-1])
        assert {r["fresh_share"] for r in failing} == {0.0} and {r.get("latency_p50_ms") for r in failing} == {None}

        slow = windows[SLOW][next(i for i, r in enumerate(windows[SLOW]) if r["quotes"] > 0):]
        slow_quoted = [r for r in slow if r["quotes"] > 0]
        assert len(slow_quoted) >= 5 and min(r["latency_p50_ms"] for r in slow_quoted) >= 3000
        assert {r["health"] for r in slow} == {"slow"}  # from its first quote on, a window without quotes too
        for e in HEALTHY:
            first = next(i for i, r in enumerate(windows[e]) if r["quotes"] > 0)
            assert {r["health"] for r in windows[e][first:]} == {"ok"}, (e, [r["reason"] for r in windows[e][first:]])
            assert max(r["latency_p50_ms"] for r in windows[e][first:] if r["quotes"]) < 2000
        alias = windows[ALIAS]
        first_excluded = next(i for i, r in enumerate(alias) if r["excluded_outlier"])
        assert len(alias) - first_excluded >= 5
        assert {r["health"] for r in alias[first_excluded:]} == {"excluded"}
        assert all(r["reason"].startswith("HOT/USDT outlier: mid ") and "% from the median" in r["reason"]
                   for r in alias[first_excluded:])

        # The page's read: the worst first, with its reason
        trader = Scope(prices=True)
        latest = latest_health(runner(s), bucket, trader, timedelta(days=1))
        shown = list(zip(latest["exchange"], latest["health"], strict=True))
        assert shown[:3] == [(FAILING, failing[-1]["health"]), (SLOW, "slow"), (ALIAS, "excluded")], latest
        assert sorted(latest["exchange"][3:]) == sorted(HEALTHY) and set(latest["health"][3:]) == {"ok"}
