"""Ingest: MQTT telemetry -> validated Avro on ``fleet.telemetry``; the rest -> ``fleet.deadletter``.

Run: ``python -m bytewax.run "dataflows.fleet_ingest:build_flow()" -w 2`` (workers share the
MQTT stream through a shared subscription). Wiring only; the contract is contracts/telemetry.py.
"""

from __future__ import annotations

import bytewax.operators as op
from bytewax.dataflow import Dataflow

from contracts.avro import TELEMETRY_SCHEMA_HEADER, encode
from contracts.deadletter import DeadLetter
from contracts.telemetry import InvalidTelemetry, Telemetry, parse_telemetry, to_avro_record
from settings.flows import IngestSettings
from settings.errors import load_settings
from settings.logs import configure_logging
from settings.stack import StackSettings, load_stack_settings
from sinks.kafka import KafkaProducerSink, KafkaRecord
from sources.mqtt import MqttConnection, MqttMessage, MqttSource


def validate(msg: MqttMessage) -> Telemetry | DeadLetter:
    """A valid record, or a dead letter carrying the reason and the original bytes."""
    try:
        return parse_telemetry(msg.topic, msg.payload, msg.received_at_ms)
    except InvalidTelemetry as exc:
        return DeadLetter(exc.reason, msg.topic, msg.payload, msg.received_at_ms)


def telemetry_record(t: Telemetry) -> KafkaRecord:
    """Keyed by vehicle: one vehicle's fixes stay in order on one partition. The record's
    timestamp is the MQTT receive time: the analytics flow's arrival time, the same on a replay."""
    return KafkaRecord(t.vehicle_id.encode(), encode("telemetry", to_avro_record(t)), headers=[TELEMETRY_SCHEMA_HEADER],
                       timestamp_ms=t.received_at_ms or None)


def deadletter_record(d: DeadLetter) -> KafkaRecord:
    return KafkaRecord(d.source_topic.encode(), d.to_json())


def build_flow(ingest: IngestSettings | None = None, stack: StackSettings | None = None) -> Dataflow:
    configure_logging()
    ingest = ingest or load_settings(IngestSettings)
    stack = stack or load_stack_settings()
    flow = Dataflow("fleet_ingest")
    source = MqttSource(MqttConnection.from_url(stack.mqtt_url, ingest.mqtt_ca_file), ingest.mqtt_topic_filter,
                        ingest.mqtt_group, ingest.mqtt_client_id_prefix, queue_size=ingest.queue_size)
    checked = op.map("validate", op.input("mqtt_in", flow, source), validate)
    split = op.branch("is_valid", checked, lambda x: isinstance(x, Telemetry))
    op.output("telemetry_out", op.map("to_avro", split.trues, telemetry_record),
              KafkaProducerSink(stack.kafka_config(), ingest.telemetry_topic))
    op.output("deadletter_out", op.map("to_deadletter", split.falses, deadletter_record),
              KafkaProducerSink(stack.kafka_config(), ingest.deadletter_topic))
    return flow
