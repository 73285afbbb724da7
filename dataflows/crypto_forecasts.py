"""Crypto forecasts: ``crypto.spreads`` -> walk-forward forecasts per symbol and their skill, on Kafka.

Run: ``python -m bytewax.run "dataflows.crypto_forecasts:build_flow()" -r var/recovery/crypto-forecasts``
(with recovery a restart resumes at the stored offsets with each symbol's bars, pending forecasts,
learners and skill). Wiring only: the forecaster is ``rules.crypto.forecast``, the records
``contracts.forecast``, the points ``sinks.influx_points.forecast``. Like the prices flow it never
talks to InfluxDB: points go to ``crypto.points`` and ``dataflows/crypto_store.py`` writes them.

    spreads -> parse --invalid--> crypto.deadletter
               '-> by symbol -> Forecaster (1-minute bars of the mid) -> forecasts -> crypto.forecasts (JSON)
                                                                     |             '-> crypto.points (forecasts)
                                                                     '-> skill     -> crypto.points (forecast_skill)
"""

from __future__ import annotations

from typing import Any, TypeGuard

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaError, KafkaSource, KafkaSourceMessage
from bytewax.dataflow import Dataflow
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END

from contracts.deadletter import DeadLetter
from contracts.forecast import ForecastRecord, InvalidSpread, MidTick, SkillRecord, mid_tick_from_json
from contracts.line_protocol import encode_point
from rules.crypto.forecast import Forecaster
from settings.errors import load_settings
from settings.forecast_flow import ForecastFlowSettings
from settings.logs import configure_logging
from settings.stack import StackSettings, load_stack_settings
from sinks.influx_points.forecast import forecast_point, skill_point
from sinks.kafka import KafkaProducerSink, KafkaRecord
from sources.kafka_time import record_timestamp_ms
from sources.on_run import OnRunFixed


def parse_spread(msg: KafkaSourceMessage[Any, Any] | KafkaError[Any, Any]) -> MidTick | DeadLetter:
    """The symbol, clock and mid of a spread record, or a dead letter saying why not."""
    if isinstance(msg, KafkaError):  # the source raises on errors; typed as Bytewax declares it
        msg = msg.msg
    try:
        return mid_tick_from_json(msg.value)
    except InvalidSpread as exc:
        return DeadLetter(f"crypto_forecasts: {exc.reason}", f"kafka:{msg.topic}", msg.value or b"", record_timestamp_ms(msg))


def is_tick(x: MidTick | DeadLetter) -> TypeGuard[MidTick]:
    return isinstance(x, MidTick)


def is_forecast(x: ForecastRecord | SkillRecord) -> TypeGuard[ForecastRecord]:
    return isinstance(x, ForecastRecord)


def deadletter_record(d: MidTick | DeadLetter) -> KafkaRecord:
    assert isinstance(d, DeadLetter)
    return KafkaRecord(d.source_topic.encode(), d.to_json())


def forecast_record(f: ForecastRecord | SkillRecord) -> KafkaRecord:
    assert isinstance(f, ForecastRecord)
    return KafkaRecord(f.symbol.encode(), f.to_json())


def point_record(out: ForecastRecord | SkillRecord) -> KafkaRecord:
    """One output as its line-protocol record, keyed by symbol."""
    p = forecast_point(out) if isinstance(out, ForecastRecord) else skill_point(out)
    return KafkaRecord(out.symbol.encode(), encode_point(p))


def build_flow(flow_settings: ForecastFlowSettings | None = None, stack: StackSettings | None = None) -> Dataflow:
    cfg = flow_settings or load_settings(ForecastFlowSettings)
    stack = stack or load_stack_settings()
    forecaster = Forecaster(cfg.forecast_config())
    kafka = stack.kafka_config()

    flow = Dataflow("crypto_forecasts")
    source = KafkaSource([kafka["bootstrap.servers"]], [cfg.spreads_topic],
                         starting_offset=OFFSET_BEGINNING if cfg.from_beginning else OFFSET_END, add_config=kafka)
    parsed = op.branch("valid", op.map("parse", op.input("kafka_in", flow, OnRunFixed(source, configure_logging)), parse_spread), is_tick)
    op.output("deadletter_out", op.map("deadletter_record", parsed.falses, deadletter_record),
              KafkaProducerSink(kafka, cfg.deadletter_topic))
    ticks = op.key_on("by_symbol", parsed.trues, lambda t: t.symbol)
    outputs = op.flat_map_value("outputs", op.stateful_map("forecaster", ticks, forecaster.update), lambda out: out)
    records = op.map("values", outputs, lambda kv: kv[1])
    forecasts = op.filter("forecasts", records, is_forecast)
    op.output("forecasts_out", op.map("forecast_record", forecasts, forecast_record),
              KafkaProducerSink(kafka, cfg.forecasts_topic))
    op.output("points_out", op.map("point_record", records, point_record), KafkaProducerSink(kafka, cfg.points_topic))
    return flow
