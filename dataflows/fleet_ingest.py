"""Ingest: MQTT telemetry -> validated Avro on ``fleet.telemetry``; the rest -> ``fleet.deadletter``.

Run: ``python -m bytewax.run "dataflows.fleet_ingest:build_flow()" -w 2`` (workers share the
MQTT stream through a shared subscription). Wiring only; the contract is contracts/telemetry.py.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeGuard, cast

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream

from contracts.avro import TELEMETRY_SCHEMA_HEADER, encode
from contracts.deadletter import DeadLetter
from contracts.telemetry import MAX_TS_AGE_MS, MAX_TS_FUTURE_MS, InvalidTelemetry, Telemetry, parse_telemetry, to_avro_record
from settings.errors import load_settings
from settings.flows import IngestSettings
from settings.logs import configure_logging
from settings.stack import StackSettings, load_stack_settings
from sinks.kafka import KafkaProducerSink, KafkaRecord
from sources.mqtt import MqttMessage, MqttSource
from sources.mqtt_client import MqttConnection
from sources.on_run import OnRunDynamic


def validate(msg: MqttMessage, max_age_ms: int = MAX_TS_AGE_MS, max_future_ms: int = MAX_TS_FUTURE_MS,
             topic_root: str = "") -> Telemetry | DeadLetter:
    """A valid record, or a dead letter carrying the reason and the original bytes. Never
    raises: a bug the contract did not foresee is a dead letter too ("internal: ..."), so one
    message cannot stop the flow. ``topic_root`` (``INGEST_MQTT_TOPIC_ROOT``) is cut off the MQTT
    topic before the contract reads ``fleet/{vehicle_id}/telemetry`` from it."""
    try:
        if not msg.topic.startswith(topic_root):
            raise InvalidTelemetry(f"topic {msg.topic[:200]!r} is outside the topic root {topic_root!r}")
        return parse_telemetry(msg.topic[len(topic_root):], msg.payload, msg.received_at_ms, max_age_ms=max_age_ms,
                               max_future_ms=max_future_ms)
    except InvalidTelemetry as exc:
        return DeadLetter(exc.reason, msg.topic, msg.payload, msg.received_at_ms)
    except Exception as exc:  # noqa: BLE001 - per-message code: never stop the flow, keep the bytes
        return DeadLetter(f"internal: {type(exc).__name__}: {exc}", msg.topic, msg.payload, msg.received_at_ms)


def _is_record(item: KafkaRecord | DeadLetter) -> TypeGuard[KafkaRecord]:
    return isinstance(item, KafkaRecord)


def telemetry_record(t: Telemetry) -> KafkaRecord:
    """Keyed by vehicle: one vehicle's fixes stay in order on one partition. The record's
    timestamp is the MQTT receive time: the analytics flow's arrival time, the same on a replay."""
    return KafkaRecord(t.vehicle_id.encode(), encode("telemetry", to_avro_record(t)), headers=[TELEMETRY_SCHEMA_HEADER],
                       timestamp_ms=t.received_at_ms or None)


def deadletter_record(d: DeadLetter) -> KafkaRecord:
    """Keyed by the MQTT topic the message came on (bounded JSON, contracts/deadletter.py)."""
    return KafkaRecord(d.source_topic.encode("utf-8", "backslashreplace"), d.to_json())


def encoded(msgs: list[MqttMessage], check: Callable[[MqttMessage], Telemetry | DeadLetter]) -> list[KafkaRecord | DeadLetter]:
    """A source batch validated and encoded in one step (Bytewax's cost per item paid once per fix,
    not twice: issue 11); each message becomes its Kafka record or its dead letter."""
    out: list[KafkaRecord | DeadLetter] = []
    for m in msgs:
        item = check(m)
        out.append(item if isinstance(item, DeadLetter) else telemetry_record(item))
    return out


def build_flow(ingest: IngestSettings | None = None, stack: StackSettings | None = None) -> Dataflow:
    ingest = ingest or load_settings(IngestSettings)
    stack = stack or load_stack_settings()
    flow = Dataflow("fleet_ingest")
    source = MqttSource(MqttConnection.from_url(stack.mqtt_url, ingest.mqtt_ca_file), ingest.mqtt_topic_root + ingest.mqtt_topic_filter,
                        ingest.mqtt_group, ingest.mqtt_client_id_prefix, queue_size=ingest.queue_size,
                        session_expiry_s=ingest.mqtt_session_expiry_s)
    check = partial(validate, max_age_ms=int(ingest.ts_max_age_days * 86_400_000),
                    max_future_ms=int(ingest.ts_max_future_s * 1000), topic_root=ingest.mqtt_topic_root)
    checked = op.flat_map_batch("validate_encode", op.input("mqtt_in", flow, OnRunDynamic(source, configure_logging)),
                                lambda msgs: encoded(msgs, check))
    split = op.branch("is_valid", checked, _is_record)
    dead_letters = cast("Stream[DeadLetter]", split.falses)  # the branch's type guard narrows only its trues
    op.output("telemetry_out", split.trues,
              KafkaProducerSink(stack.kafka_config(), ingest.telemetry_topic, deadletter_topic=ingest.deadletter_topic))
    op.output("deadletter_out", op.map("to_deadletter", dead_letters, deadletter_record),
              KafkaProducerSink(stack.kafka_config(), ingest.deadletter_topic))
    return flow
