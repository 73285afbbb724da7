"""Fleet analytics: ``fleet.telemetry`` -> alerts, trips, stops, health, daily scores, 1-minute stats.

Everything goes to Kafka: alerts, trips and stops as JSON (``fleet.alerts``, ``fleet.trips``, ``fleet.stops``) and every
InfluxDB point as line protocol on ``fleet.points``, which the store flow writes. The flow never
waits for InfluxDB, so an outage there does not delay a single alert.

Run: ``python -m bytewax.run "dataflows.fleet_analytics:build_flow()" -w 2 -r var/recovery/analytics``
(with recovery a restart resumes from the last snapshot; alert ids are deterministic, so
what is replayed gets the same ids and the notifier and InfluxDB deduplicate). Wiring only:
the per-vehicle logic is ``rules.fleet.engine``; the registry is a live view of ``fleet.config``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import TypeGuard, cast

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, TIMESTAMP_NOT_AVAILABLE
from influxdb_client import Point

from contracts.avro import decode, header_version
from contracts.day_score import DayScore
from contracts.deadletter import DeadLetter
from contracts.line_protocol import encode_point
from contracts.telemetry import Telemetry, from_avro_record
from dataflows.live_registry import load_live_registry
from dataflows.vehicle_buckets import BucketLogic, Fix, by_bucket, window_wait
from rules.fleet.config import FleetSettings
from rules.fleet.places import alert_with_place, trip_with_places
from rules.fleet.registry import Rejected
from rules.fleet.stats import MinuteStats
from rules.fleet.stops import with_place
from rules.fleet.stream_clock import StreamClock
from settings.errors import load_settings
from settings.flows import AnalyticsSettings
from settings.geodata import place_index
from settings.logs import configure_logging
from settings.rules_env import load_fleet_settings
from settings.stack import StackSettings, load_stack_settings
from sinks.influx_points.fleet_analytics import alert_point, day_point, health_point, late_point, link_point, stats_point, stop_point, trip_point
from sinks.kafka import KafkaRecord
from sinks.kafka_epoch import KafkaEpochSink, epoch_output
from sources.kafka_messages import KAFKA_BATCH, KafkaMessage, kafka_messages
from sources.lingering import LingeringSource
from sources.on_run import OnRunFixed

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _known(item: tuple[str, list[Fix]] | DeadLetter) -> TypeGuard[tuple[str, list[Fix]]]:
    return not isinstance(item, DeadLetter)


def decode_fix(msg: KafkaMessage) -> tuple[Telemetry, int]:
    """Avro record -> (fix, arrival time in ms). Arrival is the record's Kafka timestamp (the MQTT
    receive time), so a restart or a replay sees the live run's arrivals; the wall clock only when
    the record has none. It drives the offline rule and the stream clock."""
    kind, ts = msg.timestamp or (TIMESTAMP_NOT_AVAILABLE, -1)
    arrival_ms = ts if kind != TIMESTAMP_NOT_AVAILABLE and ts > 0 else int(time.time() * 1000)
    return from_avro_record(decode("telemetry", msg.value or b"", header_version(msg.headers))), arrival_ms


def build_flow(analytics: AnalyticsSettings | None = None, stack: StackSettings | None = None,
               rules: FleetSettings | None = None) -> Dataflow:
    analytics = analytics or load_settings(AnalyticsSettings)
    stack = stack or load_stack_settings()
    cfg = rules or load_fleet_settings()
    kafka = stack.kafka_config()
    registry = load_live_registry(analytics.vehicles_file, analytics.geofences_file, analytics.config_topic, kafka)

    def fleet_of(vehicle_id: str) -> str | None:
        v = registry.current.vehicles.get(vehicle_id)
        return v.fleet_id if v else None

    def checked(item: tuple[Telemetry, int]) -> tuple[Telemetry, int] | DeadLetter:
        fix, arrival_ms = item
        found = registry.current.lookup(fix.vehicle_id)
        if isinstance(found, Rejected):
            return DeadLetter(f"{found.reason}: {fix.vehicle_id}", analytics.telemetry_topic,
                              fix.model_dump_json().encode(), arrival_ms)
        return item

    flow = Dataflow("fleet_analytics")
    brokers = [kafka["bootstrap.servers"]]
    source = LingeringSource(kafka_messages(brokers, [analytics.telemetry_topic],
                                            starting_offset=OFFSET_BEGINNING if analytics.from_beginning else OFFSET_END, add_config=kafka),
                             timedelta(milliseconds=analytics.source_linger_ms), full=KAFKA_BATCH)

    def on_start() -> None:
        # Logging and the registry's consumer start when the flow runs, not when it is built.
        configure_logging()
        registry.start()
        place_index()  # load the place data set (~1 s) before the first alert needs it

    started = OnRunFixed(source, on_start)
    # Bytewax costs per item and per stateful key activation: decode and check a whole source
    # batch in one call, and hand the rules one list of fixes per bucket of vehicles (vehicle_buckets.py).
    def decode_batch(msgs: list[KafkaMessage]) -> list[tuple[str, list[Fix]] | DeadLetter]:
        """A source batch -> its dead letters and one list of fixes per bucket: no fix is an item of its own."""
        known: list[Fix] = []
        out: list[tuple[str, list[Fix]] | DeadLetter] = []
        for m in msgs:
            item = checked(decode_fix(m))
            if isinstance(item, DeadLetter):
                out.append(item)
            else:
                known.append(item)
        out += by_bucket(known)
        return out

    batches = op.flat_map_batch("decode_check_bucket", op.input("kafka_in", flow, started), decode_batch)
    split = op.branch("known_vehicle", batches, _known)
    unknown = cast("Stream[DeadLetter]", split.falses)  # the branch's type guard narrows only its trues
    # Kafka outputs confirm their deliveries at each epoch's snapshot, not per batch (sinks/kafka_epoch.py).
    epoch_output("unknown_out", op.map("deadletter", unknown, lambda d: KafkaRecord(d.source_topic.encode(), d.to_json())),
                 KafkaEpochSink(kafka, analytics.deadletter_topic))

    keyed = split.trues
    tick = timedelta(seconds=analytics.tick_interval_s)
    clock = StreamClock(grace_ms=int(cfg.offline_timeout_s * 1000), stall_ms=int(cfg.stream_stall_tolerance_s * 1000))  # one per process
    outputs = op.stateful("bucket_rules", keyed,
                          lambda resume: BucketLogic(resume, lambda: registry.current, cfg, tick, analytics.state_ttl_days * 86400, clock,
                                                     wait=window_wait(cfg, tick)))
    outs = op.map("unkey", outputs, lambda kv: kv[1])
    errors = op.flat_map("rule_errors", outs, lambda o: o.errors)
    epoch_output("rule_errors_out", op.map("rule_error_record", errors, lambda e: KafkaRecord(
        analytics.telemetry_topic.encode(), e.dead_letter(analytics.telemetry_topic).to_json())),
                 KafkaEpochSink(kafka, analytics.deadletter_topic))

    # Places (rules/fleet/places.py) in an output step: the rules and their ids never see them.
    alerts = op.map("alert_place", op.flat_map("alerts", outs, lambda o: o.alerts), lambda a: alert_with_place(a, place_index()))
    trips = op.map("trip_places", op.flat_map("trips", outs, lambda o: o.trips), lambda t: trip_with_places(t, place_index()))
    epoch_output("alerts_out", op.map("alert_record", alerts, lambda a: KafkaRecord(a.vehicle_id.encode(), a.to_json().encode())),
                 KafkaEpochSink(kafka, analytics.alerts_topic))
    epoch_output("trips_out", op.map("trip_record", trips, lambda t: KafkaRecord(t.vehicle_id.encode(), json.dumps(t.to_dict()).encode())),
                 KafkaEpochSink(kafka, analytics.trips_topic))
    stops = op.map("stop_place", op.flat_map("stops", outs, lambda o: o.stops), lambda sp: with_place(sp, place_index()))
    if analytics.stops_topic:  # optional: stops always reach InfluxDB through the points below
        epoch_output("stops_out", op.map("stop_record", stops, lambda sp: KafkaRecord(sp.vehicle_id.encode(), sp.to_json().encode())),
                     KafkaEpochSink(kafka, analytics.stops_topic))

    # The 1-minute stats windows are inside the bucket step (closed ones in o.minutes): no fix is
    # an item after it; only the fixes the rules skipped (flagged) become late points.
    skipped = op.flat_map("skipped_fixes", outs, lambda o: [pf for pf in o.fixes if pf.flag is not None])

    def stats_to_point(closed: tuple[str, int, MinuteStats]) -> Point:
        vid, window_id, acc = closed
        end_ms = (window_id + 1) * 60_000
        return stats_point(acc, fleet_of(vid), end_ms, cfg.trip_start_speed_kmh)

    def day_to_point(d: DayScore) -> Point:
        start = datetime.combine(date.fromisoformat(d.day), datetime.min.time(), tzinfo=UTC)
        return day_point(d, fleet_of(d.vehicle_id), int(start.timestamp() * 1000))

    def point_record(vehicle_id: str, p: Point) -> KafkaRecord:
        return KafkaRecord(vehicle_id.encode(), encode_point(p))

    points = op.merge(
        "points",
        op.map("alert_point", alerts, lambda a: point_record(a.vehicle_id, alert_point(a))),
        op.map("trip_point", trips, lambda t: point_record(t.vehicle_id, trip_point(t))),
        op.map("stop_point", stops, lambda sp: point_record(sp.vehicle_id, stop_point(sp))),
        op.map("health_point", op.flat_map("health", outs, lambda o: o.health),
               lambda h: point_record(h.vehicle_id, health_point(h, fleet_of(h.vehicle_id)))),
        op.map("day_point", op.flat_map("days", outs, lambda o: o.days), lambda d: point_record(d.vehicle_id, day_to_point(d))),
        op.map("stats_point", op.flat_map("minutes", outs, lambda o: o.minutes), lambda c: point_record(c[0], stats_to_point(c))),
        op.map("late_rules", skipped,
               lambda pf: point_record(pf.fix.vehicle_id, late_point(pf.fix.vehicle_id, pf.fix.ts_ms, "rules", pf.flag or "late"))),
        op.map("link_point", op.flat_map("link", outs, lambda o: o.link),
               lambda ls: point_record(ls.vehicle_id, link_point(ls, fleet_of(ls.vehicle_id)))),
        op.map("late_window", op.flat_map("window_late", outs, lambda o: o.window_late),
               lambda pf: point_record(pf.fix.vehicle_id, late_point(pf.fix.vehicle_id, pf.fix.ts_ms, "window", "late"))),
    )
    epoch_output("points_out", points, KafkaEpochSink(kafka, analytics.points_topic))
    return flow
