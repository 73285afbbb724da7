"""The Quix Streams peer of the processing benchmark: ticktrack's fleet rules written as a Quix app.

Same work as ``dataflows/fleet_analytics.py`` so the throughput ratio means something: Avro
decode with the Kafka record timestamp as arrival time (as the flow's ``decode_fix``), registry
check (live ``CompactedTopicTable``, unknown vehicles to the dead-letter topic),
``rules.fleet.engine.on_fix`` per vehicle with the state in Quix's State store (RocksDB, keyed
by the message key = vehicle id, pickled like Bytewax snapshots), rule errors to the dead-letter
topic, alerts and trips to Kafka, 1-minute stats in a Quix tumbling window (event time = fix
time, 5 s grace) and the alert / trip / health / day / stats / late points as line protocol
(``contracts.line_protocol.encode_point``) on the points topic, keyed by vehicle - the flow's
``fleet.points``, which a store flow writes to InfluxDB. Neither peer talks to InfluxDB.
Not equal: Quix has no per-key wall-clock timer, so ``engine.on_tick`` (offline, quiet trips,
reorder flush on the stream clock) does not run; the bench disables the offline rule.

Runs in its own venv (quixstreams pins older confluent-kafka / pydantic than the project):

    PYTHONPATH=. .venv-bench-quix/bin/python bench/peers/quix_fleet_rules.py
Settings: the flow's ANALYTICS_*, FLEET_*, stack settings, plus BENCH_QUIX_GROUP,
BENCH_QUIX_STATE_DIR, BENCH_QUIX_CHANGELOG (1 = changelog topics, Quix's recovery),
BENCH_QUIX_COMMIT_S (checkpoint interval: Quix flushes its producer and commits offsets then).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from influxdb_client import Point  # noqa: E402
from quixstreams import Application, State  # noqa: E402
from quixstreams.kafka.configuration import ConnectionConfig  # noqa: E402
from quixstreams.state.rocksdb import RocksDBOptions  # noqa: E402

from contracts.avro import decode  # noqa: E402
from contracts.deadletter import DeadLetter  # noqa: E402
from contracts.line_protocol import encode_point  # noqa: E402
from contracts.telemetry import Telemetry, from_avro_record  # noqa: E402
from dataflows.live_registry import load_live_registry  # noqa: E402
from rules.fleet import engine  # noqa: E402
from rules.fleet.registry import Rejected  # noqa: E402
from rules.fleet.stats import MinuteStats, fold_minute  # noqa: E402
from settings.errors import load_settings  # noqa: E402
from settings.flows import AnalyticsSettings  # noqa: E402
from settings.logs import configure_logging  # noqa: E402
from settings.rules_env import load_fleet_settings  # noqa: E402
from settings.stack import load_stack_settings  # noqa: E402
from sinks.influx_points.fleet_analytics import alert_point, day_point, health_point, late_point, stats_point, trip_point  # noqa: E402

# the analytics flow's producer settings (sinks/kafka.py DEFAULT_PRODUCER_CONFIG)
PRODUCER = {"acks": "all", "enable.idempotence": "true", "linger.ms": "5", "compression.type": "lz4"}


def main() -> None:
    configure_logging()
    analytics = load_settings(AnalyticsSettings)
    stack = load_stack_settings()
    cfg = load_fleet_settings()
    kafka = stack.kafka_config()
    registry = load_live_registry(analytics.vehicles_file, analytics.geofences_file, analytics.config_topic, kafka).start()

    def fleet_of(vehicle_id: str) -> str | None:
        v = registry.current.vehicles.get(vehicle_id)
        return v.fleet_id if v else None

    app = Application(
        broker_address=ConnectionConfig.from_librdkafka_dict(kafka), consumer_group=os.environ["BENCH_QUIX_GROUP"],
        auto_offset_reset="earliest", commit_interval=float(os.environ.get("BENCH_QUIX_COMMIT_S", "1")),
        state_dir=os.environ["BENCH_QUIX_STATE_DIR"], use_changelog_topics=os.environ.get("BENCH_QUIX_CHANGELOG") == "1",
        rocksdb_options=RocksDBOptions(dumps=pickle.dumps, loads=pickle.loads),
        producer_extra_config=PRODUCER, loglevel="WARNING")
    telemetry = app.topic(analytics.telemetry_topic, key_deserializer="str", value_deserializer="bytes")
    alerts_topic, trips_topic, dead_topic, points_topic = (app.topic(t, key_serializer="str", value_serializer="bytes") for t in (
        analytics.alerts_topic, analytics.trips_topic, analytics.deadletter_topic, analytics.points_topic))

    def decode_fix(value: bytes, _key: str, ts_ms: int, _headers: object) -> tuple[Telemetry, int]:
        """As the flow's decode_fix: arrival = the record's Kafka timestamp, the wall clock only without one."""
        return from_avro_record(decode("telemetry", value)), ts_ms if ts_ms and ts_ms > 0 else int(time.time() * 1000)

    def known(item: tuple[Telemetry, int]) -> bool:
        return not isinstance(registry.current.lookup(item[0].vehicle_id), Rejected)

    def dead_letter(item: tuple[Telemetry, int]) -> bytes:
        fix, arrival_ms = item
        found = registry.current.lookup(fix.vehicle_id)
        return DeadLetter(f"{found.reason}: {fix.vehicle_id}", analytics.telemetry_topic,
                          fix.model_dump_json().encode(), arrival_ms).to_json()

    def vehicle_rules(item: tuple[Telemetry, int], state: State) -> engine.Output:
        fix, arrival_ms = item
        new, out = engine.on_fix(state.get("vehicle", None) or engine.VehicleState(), fix, arrival_ms, registry.current, cfg)
        state.set("vehicle", new)
        return out

    def day_to_point(d) -> Point:  # noqa: ANN001 - contracts.day_score.DayScore
        start = datetime.combine(date.fromisoformat(d.day), datetime.min.time(), tzinfo=UTC)
        return day_point(d, fleet_of(d.vehicle_id), int(start.timestamp() * 1000))

    def stats_to_point(window: dict, key: str, _ts: int, _headers: object) -> Point:
        return stats_point(window["value"], fleet_of(key), window["end"], cfg.trip_start_speed_kmh)

    fixes = app.dataframe(telemetry).apply(decode_fix, metadata=True)
    # dead letters keyed by the source topic, as the flow keys them
    dead_key = lambda _value: analytics.telemetry_topic  # noqa: E731
    fixes.filter(lambda item: not known(item)).apply(dead_letter).to_topic(dead_topic, key=dead_key)
    outs = fixes.filter(known).apply(vehicle_rules, stateful=True)
    (outs.apply(lambda o: o.errors, expand=True)
     .apply(lambda e: e.dead_letter(analytics.telemetry_topic).to_json()).to_topic(dead_topic, key=dead_key))

    alerts = outs.apply(lambda o: o.alerts, expand=True)
    alerts.apply(lambda a: a.to_json().encode()).to_topic(alerts_topic)
    trips = outs.apply(lambda o: o.trips, expand=True)
    trips.apply(lambda t: json.dumps(t.to_dict()).encode()).to_topic(trips_topic)
    processed = outs.apply(lambda o: o.fixes, expand=True)
    in_order = processed.filter(lambda pf: pf.flag is None)
    stats = (in_order.set_timestamp(lambda pf, _k, _ts, _h: pf.fix.ts_ms)
             .tumbling_window(timedelta(minutes=1), grace_ms=timedelta(seconds=5))
             .reduce(lambda acc, pf: fold_minute(acc, pf.fix, pf.segment_m),
                     lambda pf: fold_minute(MinuteStats(), pf.fix, pf.segment_m)).final())

    points = (alerts.apply(alert_point)
              .concat(trips.apply(trip_point))
              .concat(outs.apply(lambda o: [health_point(h, fleet_of(h.vehicle_id)) for h in o.health], expand=True))
              .concat(outs.apply(lambda o: [day_to_point(d) for d in o.days], expand=True))
              .concat(stats.apply(stats_to_point, metadata=True))
              .concat(processed.filter(lambda pf: pf.flag is not None)
                      .apply(lambda pf: late_point(pf.fix.vehicle_id, pf.fix.ts_ms, "rules", pf.flag))))
    points.apply(encode_point).to_topic(points_topic)  # key = the vehicle id, as the flow's point records
    app.run()


if __name__ == "__main__":
    main()
