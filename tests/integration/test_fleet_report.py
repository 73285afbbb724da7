"""A scripted drive through the real pipeline (MQTT -> ingest -> Kafka -> analytics -> store ->
InfluxDB, in a bucket of its own) comes out as trips and alerts with places on Kafka and in
InfluxDB, and the report job reads them back as trips, stops and a summary with places.

The van drives from Paris (Notre-Dame) to Saint-Denis, parks 7 minutes with the key off, drives
back and parks again: 2 trips, 2 stops (the second still going on at the end of the data).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from influxdb_client import InfluxDBClient
from pypdf import PdfReader

from jobs import fleet_report
from jobs.fleet_report import make_report
from settings.geodata import place_index
from settings.registry_files import load_registry
from tests.support.buckets import temp_bucket
from tests.support.drives import paris_round_trip
from tests.support.services import consume, influx_query, kafka_topics, publish, read_to_end, require_stack, running_flow, unique

pytestmark = pytest.mark.integration



def test_drive_through_the_pipeline_gives_trips_stops_and_alerts_with_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = require_stack()
    run = unique("rep")
    vid = f"{run}-van"
    vehicles_file, geofences_file = tmp_path / "vehicles.json", tmp_path / "geofences.geojson"
    vehicles_file.write_text(json.dumps({"fleets": [{"id": f"{run}-fleet", "name": "reports", "timezone": "Europe/Paris"}],
                                         "vehicles": [{"id": vid, "name": "Van", "fleet_id": f"{run}-fleet", "owner": "ann"}]}))
    geofences_file.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    registry = load_registry(vehicles_file, geofences_file)
    now = int(time.time() * 1000)
    probe = paris_round_trip(vid, now)
    span = probe[-1].ts_ms - probe[0].ts_ms
    start_ms = now - span - 120_000
    paris = ZoneInfo("Europe/Paris")
    end_day = datetime.fromtimestamp((start_ms + span) / 1000, tz=paris).replace(hour=0, minute=0, second=0, microsecond=0)
    if datetime.fromtimestamp(start_ms / 1000, tz=paris) < end_day:
        # the drive would cross midnight in Paris (CI at 23:00 UTC failed on two day rows): end it before
        start_ms = int(end_day.timestamp() * 1000) - span - 60_000
    messages = paris_round_trip(vid, start_ms)
    topics = {k: f"{run}.{k}" for k in ("telemetry", "deadletter", "alerts", "trips", "points")}
    with temp_bucket(s, f"{run}-fleet") as bucket:
        env = {"INGEST_TELEMETRY_TOPIC": topics["telemetry"], "INGEST_DEADLETTER_TOPIC": topics["deadletter"],
               "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run,
               **{f"ANALYTICS_{k.upper()}_TOPIC": t for k, t in topics.items()},
               "ANALYTICS_CONFIG_TOPIC": f"{run}.config", "ANALYTICS_VEHICLES_FILE": str(vehicles_file),
               "ANALYTICS_GEOFENCES_FILE": str(geofences_file), "ANALYTICS_FROM_BEGINNING": "true",
               "ANALYTICS_TICK_INTERVAL_S": "1", "FLEET_OFFLINE_TIMEOUT_S": "3600",
               "STORE_TELEMETRY_TOPIC": topics["telemetry"], "STORE_POINTS_TOPIC": topics["points"],
               "STORE_DEADLETTER_TOPIC": topics["deadletter"], "STORE_CONFIG_TOPIC": f"{run}.config",
               "STORE_VEHICLES_FILE": str(vehicles_file), "INFLUX_BUCKET_FLEET": bucket, "INFLUX_WRITE_TOKEN": s.influx_token}
        with kafka_topics(s, *topics.values()), kafka_topics(s, f"{run}.config", partitions=1, config={"cleanup.policy": "compact"}):
            with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=1) as ingest, \
                 running_flow("dataflows.fleet_analytics:build_flow()", env, workers=1) as analytics, \
                 running_flow("dataflows.fleet_store:build_flow()", env, workers=1):
                ingest.wait_for_log('"event": "mqtt_subscribed"')
                analytics.wait_for_log('"event": "table_caught_up"')
                publish(s.mqtt_url, [(m.topic, json.dumps(m.payload).encode()) for m in messages])
                trip_msgs = consume(s, topics["trips"], lambda m: len(m) >= 2, timeout_s=120, settle_s=2)
                alert_msgs = read_to_end(s, topics["alerts"])
                q = (f'from(bucket: "{bucket}") |> range(start: -1d) |> filter(fn: (r) => r._measurement == "telemetry" '
                     f'and r._field == "lat") |> count()')
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    rows = influx_query(s, q)
                    stored_trips = influx_query(s, f'from(bucket: "{bucket}") |> range(start: -1d) '
                                                   f'|> filter(fn: (r) => r._measurement == "trips" and r._field == "start_place")')
                    if rows and rows[0]["_value"] == len(messages) and len(stored_trips) == 2:
                        break
                    time.sleep(1)

        index = place_index()
        trips = [json.loads(m.value()) for m in trip_msgs]
        assert len(trips) == 2
        for t in trips:  # on Kafka: the place of each end, as the offline lookup gives it
            assert t["start_place"] == index.label(t["start_lat"], t["start_lon"])
            assert t["end_place"] == index.label(t["end_lat"], t["end_lon"])
        assert [t["start_place"].split(", ")[-1] for t in trips] == ["FR", "FR"]
        assert trips[0]["end_place"].endswith("Île-de-France, FR") and "Saint-Denis" in trips[0]["end_place"]
        alerts = [json.loads(m.value()) for m in alert_msgs]
        assert alerts and all(a["place"] == index.label(a["lat"], a["lon"]) for a in alerts if a["lat"] is not None)
        assert sorted({t["start_place"] for t in trips} | {t["end_place"] for t in trips}) == sorted(
            {r["_value"] for r in stored_trips} | {t["end_place"] for t in trips})
        assert rows[0]["_value"] == len(messages)

        start = datetime.fromtimestamp(messages[0].ts_ms / 1000 - 60, tz=UTC)
        stop = datetime.fromtimestamp(messages[-1].ts_ms / 1000 + 60, tz=UTC)
        with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=60_000) as client:
            report = make_report(client, bucket, registry, [vid], start, stop, "Europe/Paris", "Integration", log=False)
        t = report.tables
        assert len(t["trips"]) == 2 and list(t["trips"]["start_place"]) == [x["start_place"] for x in trips]
        assert len(t["stops"]) == 2 and list(t["stops"]["ongoing"]) == [False, True]
        assert all(p and p.endswith("FR") for p in t["stops"]["place"])
        assert "Saint-Denis" in t["stops"]["place"].iloc[0]
        [day] = t["summary_vehicles"].to_dict("records")
        assert (day["trips"], day["driver"], day["stops"]) == (2, "ann", 2)
        assert day["distance_km"] == pytest.approx(sum(x["distance_km"] for x in trips), abs=0.001)
        assert list(t["summary_drivers"]["driver"]) == ["ann"]

        # the CLI on the same bucket (the read-only token reads only the demo's buckets): files written
        monkeypatch.setenv("INFLUX_READ_TOKEN", s.influx_token)
        code = fleet_report.main(["--from", start.date().isoformat(), "--to", stop.date().isoformat(), "--vehicles", vid,
                                  "--vehicles-file", str(vehicles_file), "--bucket", bucket, "--out", str(tmp_path / "out"),
                                  "--tz", "UTC"])
        assert code == 0
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
            [f"fleet-report-{n}.csv" for n in ("events", "stops", "summary_drivers", "summary_vehicles", "trips")]
            + ["fleet-report.pdf", "fleet-report.xlsx"])
        text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "out" / "fleet-report.pdf").pages)
        assert trips[0]["end_place"] in text.replace("\n", " ") or "Saint-Denis" in text
