"""Store: ``fleet.telemetry`` (Avro) -> InfluxDB measurement ``telemetry`` in bucket ``fleet``.

Run: ``python -m bytewax.run "dataflows.fleet_store:build_flow()" -w 2`` (Kafka partitions
are spread over workers). Add ``-r <dir>`` for recovery: offsets then live in the recovery
store and a restart resumes where it stopped (at-least-once; points are idempotent in InfluxDB).
"""

from __future__ import annotations

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaSource, KafkaSourceMessage
from bytewax.dataflow import Dataflow
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END
from influxdb_client import Point

from contracts.avro import decode
from contracts.fleet_points import telemetry_point
from contracts.telemetry import from_avro_record
from settings.flows import StoreSettings
from settings.errors import load_settings
from settings.logs import configure_logging
from settings.stack import StackSettings, load_stack_settings
from sinks.influxdb import InfluxSink


def to_point(msg: KafkaSourceMessage) -> Point:
    return telemetry_point(from_avro_record(decode("telemetry", msg.value)))


def build_flow(store: StoreSettings | None = None, stack: StackSettings | None = None) -> Dataflow:
    configure_logging()
    store = store or load_settings(StoreSettings)
    stack = stack or load_stack_settings()
    kafka = stack.kafka_config()
    flow = Dataflow("fleet_store")
    source = KafkaSource([kafka.pop("bootstrap.servers")], [store.telemetry_topic], tail=store.tail,
                         starting_offset=OFFSET_BEGINNING if store.from_beginning else OFFSET_END, add_config=kafka)
    points = op.map("to_point", op.input("kafka_in", flow, source), to_point)
    op.output("influx_out", points, InfluxSink(stack.influx_url, stack.writer_token(), stack.influx_org,
                                               stack.influx_bucket_fleet, max_outage_s=store.max_outage_s))
    return flow
