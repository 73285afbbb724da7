"""InfluxDB down for a minute while vehicles drive: alerts keep their lag, the store flow waits
the outage out with bounded memory, and afterwards InfluxDB holds everything exactly once.

The analytics flow writes only to Kafka, so nothing it does waits for InfluxDB. Ten vehicles
publish a fix a second in real time (each a cycle of cruising and overspeeding); the alert lag
is the alert record's Kafka timestamp minus the event time of the fix that raised it (both
from this machine's clock). Lag before the outage is the baseline the lag during it is held to.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time

import pytest
from confluent_kafka import Producer
from influxdb_client import InfluxDBClient

from contracts.avro import TELEMETRY_SCHEMA_HEADER, encode
from contracts.telemetry import Telemetry, parse_telemetry, to_avro_record
from settings.rules_env import load_fleet_settings
from tests.support.expected import expected_alerts
from tests.support.private_stack import PrivateStack
from tests.support.services import consume, kafka_topics, require_stack, running_flow, unique, write_registry

pytestmark = pytest.mark.faults
OUTAGE_S = float(os.environ.get("FAULT_INFLUX_OUTAGE_S", "60"))
BEFORE_S, AFTER_S = 30.0, 20.0
VEHICLES = 10
RULES_ENV = {"FLEET_OFFLINE_TIMEOUT_S": "100000", "FLEET_DEFAULT_SPEED_LIMIT_KMH": "100"}


def speed_at(t: int, phase: int) -> float:
    """A 40 s cycle: 20 s at 60 km/h, 15 s at 130 (an overspeed episode), 5 s at 60."""
    c = (t + phase) % 40
    return 130.0 if 20 <= c < 35 else 60.0


class Drive:
    """Publishes one fix per vehicle per second, stamped now, until stopped; keeps what it sent."""

    def __init__(self, run: str, kafka_config: dict, topic: str) -> None:
        self.vehicles = [f"{run}-v{v:02d}" for v in range(VEHICLES)]
        self.fixes: list[Telemetry] = []
        self._producer = Producer({**kafka_config, "log_level": 3, "linger.ms": 5})
        self._topic = topic
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Drive:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        assert self._producer.flush(30) == 0

    def _run(self) -> None:
        t, lon = 0, {v: 13.30 for v in self.vehicles}
        next_at = time.monotonic()
        while not self._stop.is_set():
            now_ms = int(time.time() * 1000)
            for i, vid in enumerate(self.vehicles):
                speed = speed_at(t, i * 4)
                lon[vid] += speed / 3.6 / 68_000
                doc = {"vehicle_id": vid, "ts": now_ms, "lat": 52.40 + i * 0.01, "lon": round(lon[vid], 7),
                       "speed_kmh": speed, "ignition": True}
                fix = parse_telemetry(f"fleet/{vid}/telemetry", json.dumps(doc).encode(), now_ms)
                self.fixes.append(fix)
                self._producer.produce(self._topic, encode("telemetry", to_avro_record(fix)), vid.encode(),
                                       headers=[TELEMETRY_SCHEMA_HEADER], timestamp=now_ms)
            self._producer.poll(0)
            t += 1
            next_at += 1.0
            self._stop.wait(max(0.0, next_at - time.monotonic()))


def rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def stored(db: PrivateStack, run: str, measurement: str, field: str) -> list:
    creds = db.credentials()
    with InfluxDBClient(url=db.influx_url, token=creds["INFLUX_TOKEN"], org="ticktrack") as c:
        tables = c.query_api().query(f'''import "strings"
            from(bucket: "fleet") |> range(start: -1d)
              |> filter(fn: (r) => r._measurement == "{measurement}" and r._field == "{field}")
              |> filter(fn: (r) => strings.hasPrefix(v: r.vehicle_id, prefix: "{run}"))''')
        return [r.get_value() for t in tables for r in t.records]


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def test_influx_outage_delays_no_alert_and_loses_nothing(tmp_path, monkeypatch) -> None:
    s = require_stack()
    db = PrivateStack.create(tmp_path / "var")
    db.up("influxdb")
    run = unique("ifx")
    for k, v in RULES_ENV.items():
        monkeypatch.setenv(k, v)
    vehicles_file = write_registry(tmp_path / "vehicles.json", {f"{run}-fleet": [f"{run}-v{v:02d}" for v in range(VEHICLES)]})
    topics = {k: f"{run}.{k}" for k in ("telemetry", "points", "alerts", "trips", "dl", "config")}
    env = {"INFLUX_URL": db.influx_url, "INFLUX_WRITE_TOKEN": db.credentials()["INFLUX_WRITE_TOKEN"], "INFLUX_BUCKET_FLEET": "fleet",
           "ANALYTICS_TELEMETRY_TOPIC": topics["telemetry"], "ANALYTICS_POINTS_TOPIC": topics["points"],
           "ANALYTICS_ALERTS_TOPIC": topics["alerts"], "ANALYTICS_TRIPS_TOPIC": topics["trips"],
           "ANALYTICS_DEADLETTER_TOPIC": topics["dl"], "ANALYTICS_CONFIG_TOPIC": topics["config"],
           "ANALYTICS_VEHICLES_FILE": str(vehicles_file), "ANALYTICS_GEOFENCES_FILE": "", "ANALYTICS_FROM_BEGINNING": "true",
           "STORE_TELEMETRY_TOPIC": topics["telemetry"], "STORE_POINTS_TOPIC": topics["points"],
           "STORE_DEADLETTER_TOPIC": topics["dl"], "STORE_CONFIG_TOPIC": topics["config"],
           "STORE_VEHICLES_FILE": str(vehicles_file)}
    phases: dict[str, tuple[int, int]] = {}
    try:
        with kafka_topics(s, *topics.values()):
            with running_flow("dataflows.fleet_analytics:build_flow()", env) as analytics, \
                 running_flow("dataflows.fleet_store:build_flow()", env) as store:
                analytics.wait_for_log('"event": "table_caught_up"', timeout_s=90)
                store.wait_for_log('"event": "table_caught_up"', timeout_s=90)
                drive = Drive(run, s.kafka_config(), topics["telemetry"]).start()
                t0 = int(time.time() * 1000)
                time.sleep(BEFORE_S)
                rss_before = rss_kb(store.proc.pid)
                db.down("influxdb")
                t1 = int(time.time() * 1000)
                time.sleep(OUTAGE_S)
                assert store.proc.poll() is None and analytics.proc.poll() is None, "both flows wait, neither crashes"
                assert '"event": "influx_write_retry"' in store.log_path.read_text()
                growth_mb = (rss_kb(store.proc.pid) - rss_before) / 1024
                db.up("influxdb")
                t2 = int(time.time() * 1000)
                time.sleep(AFTER_S)
                drive.stop()
                t3 = int(time.time() * 1000)
                phases = {"before": (t0, t1), "outage": (t1, t2), "after": (t2, t3)}

                expected = expected_alerts(drive.fixes, str(vehicles_file), load_fleet_settings())  # RULES_ENV is set
                records = consume(s, topics["alerts"], lambda m: len({json.loads(x.value())["alert_id"] for x in m}) >= len(expected),
                                  timeout_s=60, settle_s=3)
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and (len(stored(db, run, "telemetry", "speed_kmh")) < len(drive.fixes)
                                                       or len(stored(db, run, "alerts", "alert_id")) < len(expected)):
                    time.sleep(1)
                fixes_stored = stored(db, run, "telemetry", "speed_kmh")
                alerts_stored = stored(db, run, "alerts", "alert_id")
    finally:
        db.down("influxdb")

    got = [json.loads(m.value()) for m in records]
    assert sorted(a["alert_id"] for a in got) == sorted(expected), "every alert exactly once in Kafka, none invented"
    lags = {name: [m.timestamp()[1] - a["ts"] for m, a in zip(records, got, strict=True) if lo <= a["ts"] < hi]
            for name, (lo, hi) in phases.items()}
    summary = {name: (len(v), p(v, 50), p(v, 99)) for name, v in lags.items() if v}
    print(f"InfluxDB down {OUTAGE_S:.0f} s: {len(drive.fixes)} fixes published, {len(fixes_stored)} stored; "
          f"{len(expected)} alerts expected, {len(records)} alert records, {len(alerts_stored)} alerts stored; "
          f"alert lag ms (count, p50, p99) by phase: {summary}; store RSS growth during outage {growth_mb:.1f} MB")
    assert len(lags["outage"]) >= VEHICLES, "alerts were raised during the outage"
    base_p99 = p(lags["before"], 99)
    assert p(lags["outage"], 99) <= max(2 * base_p99, base_p99 + 1000), f"alert lag grew during the outage: {summary}"
    assert growth_mb < 150, f"store memory grew {growth_mb:.0f} MB during the outage"
    assert len(fixes_stored) == len(drive.fixes), "every fix in InfluxDB after the outage"
    assert sorted(alerts_stored) == sorted(expected), "every alert exactly once in InfluxDB"
