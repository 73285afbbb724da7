"""Exchange health: quotes, the collector's status records and the spreads' exclusions -> one
``exchange_health`` point per exchange and window, on ``crypto.points`` (docs/exchange-health.md).

Run: ``python -m bytewax.run "dataflows.crypto_exchange_health:build_flow()" -r var/recovery/crypto-health``
(with recovery a restart resumes at the stored offsets with every exchange's track). Wiring only:
the rule is ``rules.crypto.exchange_health``, the records ``contracts.exchange_health``, the point
``sinks.influx_points.exchange_health``. Like the prices flow it never talks to InfluxDB: the crypto
store writes the points.

    crypto.tickers ---------.
    crypto.exchange_status -+-> parse --invalid status / spread--> crypto.deadletter
    crypto.spreads ---------'     '-> one key -> HealthRules (window per exchange) -> crypto.points (exchange_health)

A quote that breaks the contract is skipped here: the prices flow dead-letters it (one dead letter per quote).
"""

from __future__ import annotations

from functools import partial
from typing import TypeGuard

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END

from contracts.deadletter import DeadLetter
from contracts.exchange_health import ExchangeHealth, InvalidHealthInput, exclusions_from_json, status_from_json
from contracts.line_protocol import encode_point
from contracts.quote import InvalidQuote, from_json
from rules.crypto.exchange_health import HealthEvent
from settings.errors import load_settings
from settings.exchange_health_flow import ExchangeHealthSettings
from settings.logs import configure_logging
from settings.stack import StackSettings, load_stack_settings
from sinks.influx_points.exchange_health import health_point
from sinks.kafka import KafkaProducerSink, KafkaRecord
from sources.kafka_messages import KafkaMessage, kafka_messages
from sources.kafka_time import record_timestamp_ms
from sources.on_run import OnRunFixed

ONE_KEY = "all"  # every exchange in one state: a silent exchange still gets its record


def parse(msg: KafkaMessage, tickers_topic: str, status_topic: str) -> HealthEvent | DeadLetter | None:
    """A quote, status or spread event by topic; a dead letter for a bad status or spread; None for a bad quote."""
    try:
        if msg.topic == tickers_topic:
            return from_json(msg.value)
        if msg.topic == status_topic:
            return status_from_json(msg.value)
        return exclusions_from_json(msg.value)
    except InvalidQuote:
        return None
    except InvalidHealthInput as exc:
        return DeadLetter(f"crypto_exchange_health: {exc.reason}", f"kafka:{msg.topic}", msg.value or b"", record_timestamp_ms(msg))


def is_event(x: HealthEvent | DeadLetter) -> TypeGuard[HealthEvent]:
    return not isinstance(x, DeadLetter)


def deadletter_record(d: HealthEvent | DeadLetter) -> KafkaRecord:
    assert isinstance(d, DeadLetter)
    return KafkaRecord(d.source_topic.encode(), d.to_json())


def point_record(kv: tuple[str, ExchangeHealth]) -> KafkaRecord:
    """One window of one exchange as its line-protocol record, keyed by exchange."""
    return KafkaRecord(kv[1].exchange.encode(), encode_point(health_point(kv[1])))


def build_flow(flow_settings: ExchangeHealthSettings | None = None, stack: StackSettings | None = None) -> Dataflow:
    cfg = flow_settings or load_settings(ExchangeHealthSettings)
    stack = stack or load_stack_settings()
    rules = cfg.rules()
    kafka = stack.kafka_config()

    flow = Dataflow("crypto_exchange_health")
    source = kafka_messages([kafka["bootstrap.servers"]], [cfg.tickers_topic, cfg.status_topic, cfg.spreads_topic],
                            starting_offset=OFFSET_BEGINNING if cfg.from_beginning else OFFSET_END, add_config=kafka)
    events: Stream[HealthEvent | DeadLetter] = op.filter_map("parse", op.input("kafka_in", flow, OnRunFixed(source, configure_logging)),
                                                             partial(parse, tickers_topic=cfg.tickers_topic,
                                                                     status_topic=cfg.status_topic))
    valid = op.branch("valid", events, is_event)
    op.output("deadletter_out", op.map("deadletter_record", valid.falses, deadletter_record),
              KafkaProducerSink(kafka, cfg.deadletter_topic))
    keyed = op.key_on("one_key", valid.trues, lambda _event: ONE_KEY)
    health = op.flat_map_value("windows", op.stateful_map("exchange_health", keyed, rules.update), lambda out: out)
    op.output("points_out", op.map("point_record", health, point_record), KafkaProducerSink(kafka, cfg.points_topic))
    return flow
