"""The forecaster wired into Bytewax as dataflows/crypto_forecasts.py wires it (testing source, no services),
its parse step's dead letters and its InfluxDB points."""

from __future__ import annotations

import math

import bytewax.operators as op
import orjson
from bytewax.connectors.kafka import KafkaSourceMessage
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, TestingSource, run_main

from contracts.deadletter import DeadLetter
from contracts.forecast import ForecastRecord, MidTick, SkillRecord, mid_tick_from_json
from dataflows.crypto_forecasts import parse_spread, point_record
from rules.crypto.forecast import ForecastConfig, Forecaster
from sinks.influx_points.forecast import forecast_point, skill_point
from tests.unit.crypto.forecast_helpers import simulated_spreads

CFG = ForecastConfig(horizons=(1, 5), lags=3, min_n=5)


def msg(value: bytes | None) -> KafkaSourceMessage[bytes, bytes]:
    return KafkaSourceMessage(key=b"k", value=value, topic="crypto.spreads", timestamp=(1, 1_767_225_600_000))  # type: ignore[arg-type]


def test_parse_spread_and_its_dead_letters() -> None:
    spread = simulated_spreads(1)[5]
    tick = parse_spread(msg(orjson.dumps(spread.to_dict())))
    assert tick == MidTick(spread.symbol, spread.ts, spread.mid)
    cases = {
        b"": "empty spreads record",
        b"{nope": "payload is not JSON",
        b"[1]": "payload is not a JSON object",
        orjson.dumps({"symbol": "BTCUSDT", "ts": 1, "mid": 1.0}): "symbol: not a ccxt unified symbol: 'BTCUSDT'",
        orjson.dumps({"symbol": "BTC/USDT", "ts": "1", "mid": 1.0}): "ts: not a positive integer of epoch ms: '1'",
        orjson.dumps({"symbol": "BTC/USDT", "ts": 1, "mid": 0}): "mid: not a positive finite price: 0",
        orjson.dumps({"symbol": "BTC/USDT", "ts": 1, "mid": True}): "mid: not a positive finite price: True",
    }
    for value, reason in cases.items():
        d = parse_spread(msg(value))
        assert isinstance(d, DeadLetter) and d.reason == f"crypto_forecasts: {reason}" and d.source_topic == "kafka:crypto.spreads"


def expected(ticks: list[MidTick]) -> list[ForecastRecord | SkillRecord]:
    fc = Forecaster(CFG)
    states: dict[str, object] = {}
    out: list[ForecastRecord | SkillRecord] = []
    for t in ticks:
        states[t.symbol], o = fc.update(states.get(t.symbol), t)  # type: ignore[arg-type]
        out += o
    return out


def test_flow_wiring_equals_the_pure_rules() -> None:
    ticks = [mid_tick_from_json(orjson.dumps(s.to_dict())) for s in simulated_spreads(30)]
    flow = Dataflow("forecast_wiring")
    stream = op.key_on("by_symbol", op.input("in", flow, TestingSource(ticks)), lambda t: t.symbol)
    outputs = op.flat_map_value("outputs", op.stateful_map("forecaster", stream, Forecaster(CFG).update), lambda o: o)
    got: list = []
    op.output("out", outputs, TestingSink(got))
    run_main(flow)
    want = expected(ticks)
    per_symbol = {s: [o for o in want if o.symbol == s] for s in ("BTC/USDT", "ETH/USDT")}
    assert {s: [o for k, o in got if k == s] for s in per_symbol} == per_symbol
    # steps at 10 s .. 30 min (+50 ms): bars 0..29 close (minute 30 stays open); forecasts from the
    # (lags + 1)-th close on: symbols x bars x horizons x models
    forecasts = [o for o in want if isinstance(o, ForecastRecord)]
    assert ticks[-1].ts // 60_000 - ticks[0].ts // 60_000 == 30
    assert len(forecasts) == 2 * (30 - CFG.lags) * 2 * 3


def test_points_of_forecasts_and_skill() -> None:
    f = ForecastRecord("BTC/USDT", 5, 1_767_225_660_000, 1_767_225_960_000, "random_walk", 65000.0, 0.0, 65000.0,
                       -0.001, 0.001, 65000 * math.exp(-0.001), 65000 * math.exp(0.001), 0.9)
    line = forecast_point(f).to_line_protocol()
    assert line.startswith("forecasts,horizon=5m,model=random_walk,symbol=BTC/USDT base_price=65000,")
    assert "target_time_ms=1767225960000i" in line and line.endswith(" 1767225660000")
    s = SkillRecord("BTC/USDT", 1, "random_walk", 1_767_225_660_000, 40, 0.001, 0.001, 1.0, 0, 0, None, None,
                    None, None, None, 0.9, "the baseline (random walk)")
    line = skill_point(s).to_line_protocol()
    assert line == ("forecast_skill,horizon=1m,model=random_walk,symbol=BTC/USDT coverage=0.9,directional_n=0i,hits=0i,"
                    'mae=0.001,mae_random_walk=0.001,mase=1,n=40i,verdict="the baseline (random walk)" 1767225660000')
    assert point_record(s).value == line.encode()
