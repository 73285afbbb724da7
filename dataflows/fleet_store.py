"""Store: the only fleet process that writes InfluxDB (bucket ``fleet``).

Reads ``fleet.telemetry`` (Avro) -> measurement ``telemetry``, tagged with the vehicle's fleet
from the live registry (fleet managers' queries filter on it), and ``fleet.points`` (line
protocol computed by the analytics flow: alerts, trips, health, scores, 1-minute stats, late
fixes) -> written as they are. A record that does not decode, or a point InfluxDB refuses,
becomes a dead letter on ``fleet.deadletter``; an InfluxDB outage is waited out (the flow
pauses, Kafka keeps the backlog), and never delays an alert: alerts do not pass through here.

Run: ``python -m bytewax.run "dataflows.fleet_store:build_flow()" -r var/recovery/store`` (with
recovery a restart resumes at the stored offsets; points are idempotent in InfluxDB, so the
at-least-once replay after a crash writes nothing twice). ``-w 2`` spreads partitions over workers.
"""

from __future__ import annotations

from collections.abc import Callable

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END
from influxdb_client import Point

from contracts.avro import decode, header_version
from contracts.deadletter import DeadLetter
from contracts.line_protocol import decode_line
from contracts.telemetry import from_avro_record
from dataflows.live_registry import load_live_registry
from dataflows.store_output import write_or_dead_letter
from settings.errors import load_settings
from settings.flows import StoreSettings
from settings.logs import configure_logging
from settings.stack import StackSettings, load_stack_settings
from sinks.influx_points.fleet import telemetry_line
from sinks.influxdb import Lines
from sources.kafka_messages import KafkaMessage, kafka_messages
from sources.kafka_time import record_timestamp_ms
from sources.on_run import OnRunFixed


def to_write(msg: KafkaMessage, points_topic: str, fleet_of: Callable[[str], str | None]) -> Point | str | DeadLetter:
    """One record -> what to write to InfluxDB, or a dead letter saying why it cannot be."""
    try:
        if msg.topic == points_topic:
            return decode_line(msg.value)
        fix = from_avro_record(decode("telemetry", msg.value or b"", header_version(msg.headers)))
        return telemetry_line(fix, fleet_of(fix.vehicle_id))
    except Exception as exc:  # noqa: BLE001 - any per-record failure is a dead letter, never a stopped flow
        return DeadLetter(f"store: {type(exc).__name__}: {str(exc)[:300]}", msg.topic or "", msg.value or b"", record_timestamp_ms(msg))


def to_write_batch(msgs: list[KafkaMessage], points_topic: str, fleet_of: Callable[[str], str | None]) -> list[Point | Lines | DeadLetter]:
    """A source batch -> its lines as one item, and its dead letters: Bytewax's cost per item is
    paid per batch instead of three times per fix (map, branch, sink) (issue 11)."""
    lines: list[str] = []
    out: list[Point | Lines | DeadLetter] = []
    for m in msgs:
        w = to_write(m, points_topic, fleet_of)
        if isinstance(w, str):
            lines.append(w)
        else:  # a dead letter, or a Point the sink serializes (and dead-letters if it cannot)
            out.append(w)
    if lines:
        out.append(tuple(lines))
    return out


def build_flow(store: StoreSettings | None = None, stack: StackSettings | None = None) -> Dataflow:
    store = store or load_settings(StoreSettings)
    stack = stack or load_stack_settings()
    kafka = stack.kafka_config()
    registry = load_live_registry(store.vehicles_file, None, store.config_topic, kafka, setting_prefix="STORE_")

    def fleet_of(vehicle_id: str) -> str | None:
        v = registry.current.vehicles.get(vehicle_id)
        return v.fleet_id if v else None

    flow = Dataflow("fleet_store")
    source = kafka_messages([kafka["bootstrap.servers"]], [store.telemetry_topic, store.points_topic], tail=store.tail,
                            starting_offset=OFFSET_BEGINNING if store.from_beginning else OFFSET_END, add_config=kafka)

    def on_start() -> None:  # when the flow runs
        configure_logging()
        registry.start()

    started = OnRunFixed(source, on_start)
    items = op.flat_map_batch("to_write", op.input("kafka_in", flow, started), lambda ms: to_write_batch(ms, store.points_topic, fleet_of))
    write_or_dead_letter(items, stack, stack.influx_bucket_fleet, store.deadletter_topic)
    return flow
