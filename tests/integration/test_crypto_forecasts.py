"""Forecasts end to end through the real Kafka, Bytewax processes and InfluxDB.

Spread records of the simulated market (45 minutes of a geometric random walk, two symbols) and
three broken records go to the test's own one-partition spreads topic; the real forecast flow
and the real crypto store then must produce exactly what the pure forecaster computes from the
same records in the same order: every forecast on Kafka, every forecast and skill point in the
test's own InfluxDB bucket (stored = produced), every broken record in the dead letters with its
reason. The simulated market is a random walk, so no model may claim skill over it.
"""

from __future__ import annotations

import time
from collections import Counter

import orjson
import pytest
from confluent_kafka import Producer

from contracts.forecast import ForecastRecord, MidTick, SkillRecord, mid_tick_from_json
from rules.crypto.forecast import ForecastConfig, Forecaster, ForecastState
from rules.crypto.forecast_metrics import BASELINE, SKILL
from rules.crypto.forecast_models import RANDOM_WALK
from settings.stack import StackSettings
from tests.support.buckets import flow_env_for_bucket, temp_bucket
from tests.support.services import consume, influx_query, kafka_topics, require_stack, running_flow, unique
from tests.unit.crypto.forecast_helpers import simulated_spreads

pytestmark = pytest.mark.integration

FLOW = "dataflows.crypto_forecasts:build_flow()"
STORE = "dataflows.crypto_store:build_flow()"
BAD = [(b"{broken", "crypto_forecasts: payload is not JSON"),
       (orjson.dumps({"symbol": "BTC/USDT", "ts": 1_767_225_600_000, "mid": -1.0}), "crypto_forecasts: mid: not a positive finite price: -1.0"),
       (orjson.dumps({"symbol": "BTCUSDT", "ts": 1_767_225_600_000, "mid": 1.0}), "crypto_forecasts: symbol: not a ccxt unified symbol: 'BTCUSDT'")]


def expected(ticks: list[MidTick]) -> list[ForecastRecord | SkillRecord]:
    fc = Forecaster(ForecastConfig())
    states: dict[str, ForecastState] = {}
    out: list[ForecastRecord | SkillRecord] = []
    for t in ticks:
        states[t.symbol], o = fc.update(states.get(t.symbol), t)
        out += o
    return out


def count_points(s: StackSettings, bucket: str, measurement: str) -> int:
    rows = influx_query(s, f'''
        from(bucket: "{bucket}") |> range(start: 0)
          |> filter(fn: (r) => r._measurement == "{measurement}" and (r._field == "n" or r._field == "base_price"))
          |> group() |> count()''')
    return int(rows[0]["_value"]) if rows else 0


def wait_points(s: StackSettings, bucket: str, measurement: str, n: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    got = 0
    while time.monotonic() < deadline:
        got = count_points(s, bucket, measurement)
        if got >= n:
            time.sleep(2)  # any extra (duplicate) point would show now
            return count_points(s, bucket, measurement)
        time.sleep(1)
    return got


def test_simulated_market_forecasts_and_skill_stored() -> None:
    s = require_stack()
    run = unique("fc")
    spreads_t, forecasts_t, points_t, dead_t, tickers_t = (f"{run}.{n}" for n in ("spreads", "forecasts", "points", "deadletter", "tickers"))
    spreads = simulated_spreads(45)
    ticks = [mid_tick_from_json(orjson.dumps(r.to_dict())) for r in spreads]
    want = expected(ticks)
    want_forecasts = [o.to_dict() for o in want if isinstance(o, ForecastRecord)]
    want_skill = [o for o in want if isinstance(o, SkillRecord)]
    # 45 minutes, 2 symbols: bars 0..44 close, forecasts from the 6th close, 3 horizons x 3 models
    assert len(want_forecasts) == 2 * (45 - 5) * 9
    with kafka_topics(s, spreads_t, partitions=1), kafka_topics(s, forecasts_t, points_t, dead_t, tickers_t), \
            temp_bucket(s, run) as bucket:
        producer = Producer(s.kafka_config())
        for r in spreads:
            producer.produce(spreads_t, orjson.dumps(r.to_dict()), r.symbol.encode())
        for value, _ in BAD:
            producer.produce(spreads_t, value, b"bad")
        assert producer.flush(30) == 0
        env = {**flow_env_for_bucket(s, bucket), "FORECAST_SPREADS_TOPIC": spreads_t, "FORECAST_FORECASTS_TOPIC": forecasts_t,
               "FORECAST_POINTS_TOPIC": points_t, "FORECAST_DEADLETTER_TOPIC": dead_t, "FORECAST_FROM_BEGINNING": "true",
               "CRYPTO_STORE_TICKERS_TOPIC": tickers_t, "CRYPTO_STORE_POINTS_TOPIC": points_t,
               "CRYPTO_STORE_DEADLETTER_TOPIC": dead_t}
        with running_flow(FLOW, env), running_flow(STORE, env):
            got = [orjson.loads(m.value()) for m in consume(s, forecasts_t, lambda ms_: len(ms_) >= len(want_forecasts), 120)]
            letters = [orjson.loads(m.value()) for m in consume(s, dead_t, lambda ms_: len(ms_) >= len(BAD), 30)]
            stored_forecasts = wait_points(s, bucket, "forecasts", len(want_forecasts), 120)
            stored_skill = wait_points(s, bucket, "forecast_skill", len(want_skill), 60)
            latest = influx_query(s, f'''
                from(bucket: "{bucket}") |> range(start: 0)
                  |> filter(fn: (r) => r._measurement == "forecast_skill" and (r._field == "verdict" or r._field == "n"))
                  |> last() |> pivot(rowKey: ["symbol", "horizon", "model"], columnKey: ["_field"], valueColumn: "_value")''')

    # Kafka: exactly the pure forecaster's forecasts, per symbol in order.
    assert len(got) == len(want_forecasts)
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert [f for f in got if f["symbol"] == symbol] == [f for f in want_forecasts if f["symbol"] == symbol]
    assert Counter((f["horizon_min"], f["model"]) for f in got) == {(h, m): 2 * 40 for h in (1, 5, 15)
                                                                   for m in ("river_bayes_linear", "random_walk", "drift")}
    # InfluxDB: stored = produced (one point per symbol, horizon, model and time).
    assert stored_forecasts == len(want_forecasts)
    assert stored_skill == len(want_skill)
    # The dead letters: each broken record with its reason, nothing else.
    assert sorted(d["reason"] for d in letters) == sorted(r for _, r in BAD)
    # The stored verdicts are the pure rules' final ones; on a random walk none is "skill".
    final = {(r.symbol, f"{r.horizon_min}m", r.model): (r.n, r.verdict) for r in want_skill}
    assert {(r["symbol"], r["horizon"], r["model"]): (r["n"], r["verdict"]) for r in latest} == final
    for (_, _, model), (_, verdict) in final.items():
        assert verdict == BASELINE if model == RANDOM_WALK else not verdict.startswith(SKILL)
    assert {n for (_, h, _), (n, _) in final.items() if h == "1m"} == {45 - 5 - 1}


def test_kill9_and_resume_from_recovery_gives_the_same_forecasts(tmp_path) -> None:
    """Half the spreads, kill -9 of the flow, the rest after a restart on the same recovery store:
    the bars, pending forecasts, learners and skill resume - every forecast of the uninterrupted run
    is on Kafka (a replayed epoch may repeat some, identical) and InfluxDB holds exactly them."""
    import subprocess
    import sys

    s = require_stack()
    run = unique("fcr")
    spreads_t, forecasts_t, points_t, dead_t, tickers_t = (f"{run}.{n}" for n in ("spreads", "forecasts", "points", "deadletter", "tickers"))
    spreads = simulated_spreads(45)
    ticks = [mid_tick_from_json(orjson.dumps(r.to_dict())) for r in spreads]
    want = [o.to_dict() for o in expected(ticks) if isinstance(o, ForecastRecord)]
    half = len(spreads) // 2
    first = [o.to_dict() for o in expected(ticks[:half]) if isinstance(o, ForecastRecord)]
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    subprocess.run([sys.executable, "-m", "bytewax.recovery", str(recovery), "1"], check=True, capture_output=True)
    with kafka_topics(s, spreads_t, partitions=1), kafka_topics(s, forecasts_t, points_t, dead_t, tickers_t), \
            temp_bucket(s, run) as bucket:
        env = {**flow_env_for_bucket(s, bucket), "FORECAST_SPREADS_TOPIC": spreads_t, "FORECAST_FORECASTS_TOPIC": forecasts_t,
               "FORECAST_POINTS_TOPIC": points_t, "FORECAST_DEADLETTER_TOPIC": dead_t,
               "CRYPTO_STORE_TICKERS_TOPIC": tickers_t, "CRYPTO_STORE_POINTS_TOPIC": points_t,
               "CRYPTO_STORE_DEADLETTER_TOPIC": dead_t}
        producer = Producer(s.kafka_config())

        def produce(records: list) -> None:
            for r in records:
                producer.produce(spreads_t, orjson.dumps(r.to_dict()), r.symbol.encode())
            assert producer.flush(30) == 0

        with running_flow(STORE, env):
            produce(spreads[:half])
            with running_flow(FLOW, env, recovery_dir=recovery) as flow:
                consume(s, forecasts_t, lambda ms_: len(ms_) >= len(first), 120, settle_s=3)  # > 1 s epochs: snapshotted
                flow.kill9()
            produce(spreads[half:])
            # without its recovery state the restart would start at the topic's end and make nothing new
            with running_flow(FLOW, {**env, "FORECAST_FROM_BEGINNING": "false"}, recovery_dir=recovery):
                got = [orjson.loads(m.value()) for m in consume(s, forecasts_t, lambda ms_: len(ms_) >= len(want), 120)]
                stored = wait_points(s, bucket, "forecasts", len(want), 120)

    key = lambda f: (f["symbol"], f["horizon_min"], f["model"], f["made_at_ms"])  # noqa: E731
    assert len(first) < len(want)
    assert {key(f): f for f in got} == {key(f): f for f in want}  # every forecast, each with the same values
    assert all(f == {key(w): w for w in want}[key(f)] for f in got)  # repeats (a replayed epoch) are identical
    assert stored == len(want)
    assert len(got) - len(want) < len(first)  # resumed at its snapshot, not replayed from the start
