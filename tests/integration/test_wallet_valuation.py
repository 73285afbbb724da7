"""A trader's wallet valued from live spreads through the real Kafka and InfluxDB (docs/wallets.md).

The production CLIs seed two traders' wallets from a CSV (jobs.wallet_import) in the test's own
SQLite file; spread records go to the test's own spreads topic; jobs.wallet_valuation --once values
every wallet and puts its points on the test's points topic; the real crypto store writes them to
the test's own bucket. Stored values must be the hand-computed ones: the newest spread of each
symbol, the best bid net of its exchange's taker fee, FIFO cost and P&L.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from contracts.quote import Quote
from contracts.spread import SpreadRecord
from settings.stack import REPO_ROOT
from tests.support.buckets import flow_env_for_bucket, temp_bucket
from tests.support.services import consume, influx_query, kafka_topics, require_stack, running_flow, unique

pytestmark = pytest.mark.integration

STORE = "dataflows.crypto_store:build_flow()"
PRICES = "dataflows.crypto_prices:build_flow()"
TRADER = """time,account,type,asset,quantity,price,quote,fee,fee_asset,ref,note
2026-12-01T09:00:00Z,spot,deposit,USDT,10000,,,,,,
2026-12-01T09:05:00Z,spot,buy,BTC,0.1,30000,USDT,3,USDT,t1,
2026-12-01T09:10:00Z,spot,buy,BTC,0.1,40000,USDT,0.0001,BTC,t2,
2026-12-01T09:15:00Z,spot,sell,BTC,0.15,50000,USDT,7.5,USDT,t3,
2026-12-01T09:20:00Z,cold,deposit,ETH,2,2500,,,,,
"""
OTHER = """time,account,type,asset,quantity,price
2026-12-01T09:00:00Z,main,deposit,ETH,1,1000
"""


def spread(symbol: str, ts: int, bid: float, bid_ex: str, ask: float) -> SpreadRecord:
    mid = (bid + ask) / 2
    return SpreadRecord(symbol, ts, bid, bid_ex, ask, "okx", mid, ask - bid, (ask - bid) / mid * 100, 0.0, 3, [])


def cli(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("source", ["spreads", "quotes"])
def test_wallets_valued_from_live_spreads_stored_in_influxdb(tmp_path: Path, source: str) -> None:
    """``spreads``: spread records put on the topic; ``quotes``: exchange quotes through the real prices
    flow, whose spreads have the same best bids and mids (binance 60,000 / kraken 3,000)."""
    s = require_stack()
    run = unique("wal")
    spreads_t, points_t, dead_t, tickers_t, alerts_t = (f"{run}.{n}" for n in ("spreads", "points", "deadletter", "tickers", "alerts"))
    env = {"WALLET_DB_URL": f"sqlite:///{tmp_path / 'wallets.sqlite'}", "WALLET_KEY_FILE": str(tmp_path / "wallet.key"),
           "WALLET_SPREADS_TOPIC": spreads_t, "WALLET_POINTS_TOPIC": points_t,
           "CRYPTO_EXCHANGES": "binance,kraken,okx", "CRYPTO_TAKER_FEES": '{"binance": 0.001, "kraken": 0.002, "okx": 0.001}',
           "CRYPTO_STORE_TICKERS_TOPIC": tickers_t, "CRYPTO_STORE_POINTS_TOPIC": points_t, "CRYPTO_STORE_DEADLETTER_TOPIC": dead_t}
    (tmp_path / "trader.csv").write_text(TRADER)
    (tmp_path / "other.csv").write_text(OTHER)
    for owner, name in (("trader", "trader.csv"), ("trader2", "other.csv")):
        r = cli("jobs.wallet_import", "csv", "--owner", owner, "--file", str(tmp_path / name), "--create-accounts", env=env)
        assert r.returncode == 0, r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(TRADER.splitlines()[0] + "\n2026-12-01T09:30:00Z,cold,deposit,ETH,1,2000,,,,,\n"
                   "2026-12-01T09:31:00Z,spot,sell,BTC,0.3,50000,USDT,,,t9,\n")
    r = cli("jobs.wallet_import", "csv", "--owner", "trader", "--file", str(bad), env=env)
    assert r.returncode == 1 and "line 3: BTC balance 0.0499 is less than the 0.3 sold" in r.stderr, r.stderr

    now = int(time.time() * 1000)
    with kafka_topics(s, spreads_t, points_t, dead_t, tickers_t, alerts_t), temp_bucket(s, run) as bucket:
        producer = Producer(s.kafka_config())
        if source == "spreads":
            for rec in (spread("BTC/USDT", now - 5000, 59_000, "okx", 59_030),  # older: superseded
                        spread("BTC/USDT", now - 2000, 60_000, "binance", 60_020),
                        spread("ETH/USDT", now - 2000, 3000, "kraken", 3002)):
                producer.produce(spreads_t, orjson.dumps(rec.to_dict()), rec.symbol.encode())
            producer.produce(spreads_t, b"{not json", b"x")  # ignored, not fatal
        else:
            for q in (Quote("binance", "BTC/USDT", 60_000, 60_030, 60_010, 1.0, 1.0, 10.0, now - 2000, now - 2000, "ccxt"),
                      Quote("kraken", "BTC/USDT", 59_990, 60_020, 60_000, 1.0, 1.0, 10.0, now - 1900, now - 1900, "ccxt"),
                      Quote("binance", "ETH/USDT", 2999, 3003, 3001, 1.0, 1.0, 10.0, now - 2000, now - 2000, "ccxt"),
                      Quote("kraken", "ETH/USDT", 3000, 3002, 3001, 1.0, 1.0, 10.0, now - 1900, now - 1900, "ccxt")):
                producer.produce(tickers_t, q.to_json(), q.symbol.encode())
        assert producer.flush(30) == 0
        env.update(flow_env_for_bucket(s, bucket))
        env.update({"CRYPTO_FLOW_TICKERS_TOPIC": tickers_t, "CRYPTO_FLOW_SPREADS_TOPIC": spreads_t, "CRYPTO_FLOW_POINTS_TOPIC": points_t,
                    "CRYPTO_FLOW_ALERTS_TOPIC": alerts_t, "CRYPTO_FLOW_DEADLETTER_TOPIC": dead_t, "CRYPTO_FLOW_FROM_BEGINNING": "true"})
        with running_flow(STORE, env), (running_flow(PRICES, env) if source == "quotes" else nullcontext()):
            if source == "quotes":  # one spread per symbol: after its second exchange's quote
                assert len(consume(s, spreads_t, lambda m: len(m) >= 2, 120)) == 2
            r = cli("jobs.wallet_valuation", "--once", "--wait-s", "20", env=env)
            assert r.returncode == 0, r.stderr
            rows = wait_rows(s, bucket, 5 + 4, 60)  # valuations: trader spot, cold, *; trader2 main, *; 4 owner assets

    val = {(r["owner"], r["account"]): r for r in rows if r["_measurement"] == "wallet_valuation"}
    assets = {(r["owner"], r["asset"]): r for r in rows if r["_measurement"] == "wallet_asset"}
    assert sorted(val) == [("trader", "*"), ("trader", "cold"), ("trader", "spot"), ("trader2", "*"), ("trader2", "main")]
    assert sorted(assets) == [("trader", "BTC"), ("trader", "ETH"), ("trader", "USDT"), ("trader2", "ETH")]
    btc_bid = 0.0499 * 60_000 * (1 - 0.001)  # 2991.006: binance's bid net of its taker fee
    eth_bid = 2 * 3000 * (1 - 0.002)  # 5988: kraken's
    btc_cost = 4000 - 0.05 / 0.0999 * 4000
    total = val[("trader", "*")]
    assert total["value_bid"] == pytest.approx(10_489.5 + btc_bid + eth_bid)
    assert total["value_mid"] == pytest.approx(10_489.5 + 0.0499 * 60_010 + 2 * 3001)
    assert total["realized_pnl"] == pytest.approx(7492.5 - 3003 - 0.05 / 0.0999 * 4000)
    assert total["unrealized_pnl"] == pytest.approx(btc_bid - btc_cost + eth_bid - 5000)
    assert total["unpriced"] == 0
    assert val[("trader", "spot")]["value_bid"] == pytest.approx(10_489.5 + btc_bid)
    assert val[("trader", "cold")]["value_bid"] == pytest.approx(eth_bid)
    assert val[("trader2", "*")]["unrealized_pnl"] == pytest.approx(3000 * 0.998 - 1000)
    assert assets[("trader", "BTC")]["allocation_pct"] == pytest.approx(btc_bid / (10_489.5 + btc_bid + eth_bid) * 100)
    assert assets[("trader", "ETH")]["quantity"] == 2
    assert {r["_time"].timestamp() * 1000 % 60_000 for r in rows} == {0}  # on the minute


def wait_rows(s, bucket: str, n: int, timeout_s: float) -> list[dict]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = influx_query(s, f'''
            from(bucket: "{bucket}") |> range(start: 0)
              |> filter(fn: (r) => r._measurement == "wallet_valuation" or r._measurement == "wallet_asset")
              |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")''')
        if len(rows) >= n:
            time.sleep(2)
            return influx_query(s, f'''
                from(bucket: "{bucket}") |> range(start: 0)
                  |> filter(fn: (r) => r._measurement == "wallet_valuation" or r._measurement == "wallet_asset")
                  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")''')
        time.sleep(1)
    return rows
