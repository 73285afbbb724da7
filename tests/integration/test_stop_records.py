"""Stops as records through the real pipeline (MQTT -> ingest -> Kafka -> analytics -> Kafka
``stops`` topic and points -> store -> InfluxDB, topics and bucket of its own).

The van drives from Paris (Notre-Dame) to Saint-Denis, parks 7 minutes with the key off, drives
back, parks again and goes silent. The first stop is published when the van drives off; the
second when the flow's timer sees the silence (``FLEET_TRIP_MAX_GAP_S=60`` here, so the test
waits a minute, not ten), still ``ongoing``. Both equal the batch ``detect_stops`` (what reports
compute) on the same fixes, carry their place, and are stored once each in InfluxDB.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from influxdb_client import InfluxDBClient

from jobs.fleet_report import make_report
from rules.fleet.stops import Sample, detect_stops
from settings.geodata import place_index
from settings.registry_files import load_registry
from tests.support.buckets import temp_bucket
from tests.support.drives import paris_round_trip
from tests.support.services import consume, influx_query, kafka_topics, publish, require_stack, running_flow, unique

pytestmark = pytest.mark.integration

GAP_S = 60


def test_stops_reach_kafka_and_influxdb_with_places_as_the_batch_computes_them(tmp_path: Path) -> None:
    s = require_stack()
    run = unique("stp")
    vid = f"{run}-van"
    vehicles_file, geofences_file = tmp_path / "vehicles.json", tmp_path / "geofences.geojson"
    vehicles_file.write_text(json.dumps({"fleets": [{"id": f"{run}-fleet", "name": "stops", "timezone": "Europe/Paris"}],
                                         "vehicles": [{"id": vid, "name": "Van", "fleet_id": f"{run}-fleet", "owner": "ann"}]}))
    geofences_file.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    now = int(time.time() * 1000)
    probe = paris_round_trip(vid, now)
    messages = paris_round_trip(vid, now - (probe[-1].ts_ms - probe[0].ts_ms) - 120_000)
    samples = [Sample(m.ts_ms, m.payload["lat"], m.payload["lon"], m.payload["speed_kmh"], m.payload["ignition"], m.payload.get("rpm"))
               for m in messages]
    want = detect_stops(vid, samples, speed_kmh=5.0, min_duration_s=300.0, max_gap_s=GAP_S)
    assert [(x.ignition_off, x.ongoing) for x in want] == [(True, False), (True, True)]

    topics = {k: f"{run}.{k}" for k in ("telemetry", "deadletter", "alerts", "trips", "stops", "points")}
    with temp_bucket(s, f"{run}-fleet") as bucket:
        env = {"INGEST_TELEMETRY_TOPIC": topics["telemetry"], "INGEST_DEADLETTER_TOPIC": topics["deadletter"],
               "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run,
               **{f"ANALYTICS_{k.upper()}_TOPIC": t for k, t in topics.items()},
               "ANALYTICS_CONFIG_TOPIC": f"{run}.config", "ANALYTICS_VEHICLES_FILE": str(vehicles_file),
               "ANALYTICS_GEOFENCES_FILE": str(geofences_file), "ANALYTICS_FROM_BEGINNING": "true",
               "ANALYTICS_TICK_INTERVAL_S": "1", "FLEET_OFFLINE_TIMEOUT_S": "3600", "FLEET_TRIP_MAX_GAP_S": str(GAP_S),
               "STORE_TELEMETRY_TOPIC": topics["telemetry"], "STORE_POINTS_TOPIC": topics["points"],
               "STORE_DEADLETTER_TOPIC": topics["deadletter"], "STORE_CONFIG_TOPIC": f"{run}.config",
               "STORE_VEHICLES_FILE": str(vehicles_file), "INFLUX_BUCKET_FLEET": bucket, "INFLUX_WRITE_TOKEN": s.influx_token}
        stops_q = (f'from(bucket: "{bucket}") |> range(start: -1d) |> filter(fn: (r) => r._measurement == "stops") '
                   f'|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") |> sort(columns: ["_time"])')
        with kafka_topics(s, *topics.values()), kafka_topics(s, f"{run}.config", partitions=1, config={"cleanup.policy": "compact"}):
            with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=1) as ingest, \
                 running_flow("dataflows.fleet_analytics:build_flow()", env, workers=1) as analytics, \
                 running_flow("dataflows.fleet_store:build_flow()", env, workers=1):
                ingest.wait_for_log('"event": "mqtt_subscribed"')
                analytics.wait_for_log('"event": "table_caught_up"')
                publish(s.mqtt_url, [(m.topic, json.dumps(m.payload).encode()) for m in messages])
                # the second stop waits for GAP_S of silence after the last fix's arrival
                stop_msgs = consume(s, topics["stops"], lambda m: len(m) >= 2, timeout_s=GAP_S + 120, settle_s=5)
                deadline = time.monotonic() + 60
                stored = influx_query(s, stops_q)
                while time.monotonic() < deadline and len(stored) < 2:
                    time.sleep(1)
                    stored = influx_query(s, stops_q)

        index = place_index()
        got = [json.loads(m.value()) for m in stop_msgs]
        assert len(got) == 2 and len({g["stop_id"] for g in got}) == 2  # exactly one record per stop, none repeated
        assert all(m.key().decode() == vid for m in stop_msgs)
        assert [(g["start_ts"], g["end_ts"], g["idle_s"], g["ignition_off"], g["ongoing"]) for g in got] == [
            (w.start_ts, w.end_ts, w.idle_s, w.ignition_off, w.ongoing) for w in want]
        assert [g["stop_id"] for g in got] == [w.stop_id for w in want]
        assert all(g["place"] == index.label(g["lat"], g["lon"]) and g["fleet_id"] == f"{run}-fleet" for g in got)
        assert "Saint-Denis" in got[0]["place"] and got[1]["place"].endswith("FR") and got[0]["duration_s"] > 420

        assert len(stored) == 2  # InfluxDB: one point per stop, at its start
        assert [(r["stop_id"], r["start_ms"], r["end_ms"], r["place"], r["ongoing"], r["fleet_id"]) for r in stored] == [
            (g["stop_id"], g["start_ts"], g["end_ts"], g["place"], g["ongoing"], g["fleet_id"]) for g in got]

        registry = load_registry(vehicles_file, geofences_file)
        start = datetime.fromtimestamp(messages[0].ts_ms / 1000 - 60, tz=UTC)
        stop = datetime.fromtimestamp(messages[-1].ts_ms / 1000 + 60, tz=UTC)
        with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=60_000) as client:
            report = make_report(client, bucket, registry, [vid], start, stop, "Europe/Paris", "Stops", log=False)
        assert [(x.stop_id, x.place) for x in report.stops[vid]] == [(g["stop_id"], g["place"]) for g in got]  # the stored stops
