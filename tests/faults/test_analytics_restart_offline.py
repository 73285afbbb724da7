"""The analytics flow is down for longer than the offline timeout while vehicles keep sending:
after the restart (from its recovery store) it reads the backlog on the backlog's own time, so
the vehicles that kept sending get no device_offline / device_online, and the one vehicle that
really went silent gets exactly one device_offline, stamped at its last arrival + the timeout.

Fixes go straight to the test's telemetry topic with the Kafka record timestamp set to the
receive time, as the ingest does; arrival = that timestamp (dataflows/fleet_analytics.py
decode_fix), the timers run on rules/fleet/stream_clock.py (docs/alerts.md, "Offline, restarts
and replays").
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from confluent_kafka import Producer

from contracts.avro import TELEMETRY_SCHEMA_HEADER, encode
from contracts.telemetry import parse_telemetry, to_avro_record
from tests.support.services import consume, kafka_topics, require_stack, running_flow, unique, write_registry

pytestmark = pytest.mark.faults
TIMEOUT_S = 20
VEHICLES = 6
BEFORE_S, DOWN_S, AFTER_S = 15.0, 45.0, 15.0
FLOW = "dataflows.fleet_analytics:build_flow()"


class Drive:
    """One fix a second per sending vehicle, stamped now (event time and Kafka timestamp), until
    stopped; ``silence(vid)`` stops one vehicle. Keeps each vehicle's last Kafka timestamp."""

    def __init__(self, vehicles: list[str], kafka_config: dict, topic: str) -> None:
        self.sending = set(vehicles)
        self.vehicles = vehicles
        self.last_ts: dict[str, int] = {}
        self.sent: dict[str, int] = {v: 0 for v in vehicles}
        self._producer = Producer({**kafka_config, "log_level": 3, "linger.ms": 5})
        self._topic = topic
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Drive:
        self._thread.start()
        return self

    def silence(self, vid: str) -> None:
        with self._lock:
            self.sending.discard(vid)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        assert self._producer.flush(30) == 0

    def _run(self) -> None:
        lon = {v: 13.30 for v in self.vehicles}
        next_at = time.monotonic()
        while not self._stop.is_set():
            now_ms = int(time.time() * 1000)
            with self._lock:
                for i, vid in enumerate(self.vehicles):
                    if vid not in self.sending:
                        continue
                    lon[vid] += 50.0 / 3.6 / 68_000
                    doc = {"vehicle_id": vid, "ts": now_ms, "lat": 52.40 + i * 0.01, "lon": round(lon[vid], 7),
                           "speed_kmh": 50.0, "ignition": True}
                    fix = parse_telemetry(f"fleet/{vid}/telemetry", json.dumps(doc).encode(), now_ms)
                    self._producer.produce(self._topic, encode("telemetry", to_avro_record(fix)), vid.encode(),
                                           headers=[TELEMETRY_SCHEMA_HEADER], timestamp=now_ms)
                    self.last_ts[vid] = now_ms
                    self.sent[vid] += 1
            self._producer.poll(0)
            next_at += 1.0
            self._stop.wait(max(0.0, next_at - time.monotonic()))


def test_restart_after_longer_than_offline_timeout_gives_no_false_offline(tmp_path) -> None:
    s = require_stack()
    run = unique("rstoff")
    vehicles = [f"{run}-v{v:02d}" for v in range(VEHICLES)]
    keeps, silent = vehicles[:-1], vehicles[-1]
    vehicles_file = write_registry(tmp_path / "vehicles.json", {f"{run}-fleet": vehicles})
    topics = {k: f"{run}.{k}" for k in ("telemetry", "alerts", "trips", "dl", "config", "points")}
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    subprocess.run([sys.executable, "-m", "bytewax.recovery", str(recovery), "1"], check=True)
    env = {"FLEET_OFFLINE_TIMEOUT_S": str(TIMEOUT_S),
           "ANALYTICS_TELEMETRY_TOPIC": topics["telemetry"], "ANALYTICS_ALERTS_TOPIC": topics["alerts"],
           "ANALYTICS_TRIPS_TOPIC": topics["trips"], "ANALYTICS_DEADLETTER_TOPIC": topics["dl"],
           "ANALYTICS_CONFIG_TOPIC": topics["config"], "ANALYTICS_POINTS_TOPIC": topics["points"],
           "ANALYTICS_VEHICLES_FILE": str(vehicles_file), "ANALYTICS_GEOFENCES_FILE": "",
           "ANALYTICS_FROM_BEGINNING": "true", "ANALYTICS_TICK_INTERVAL_S": "1"}

    with kafka_topics(s, *topics.values()):
        drive = Drive(vehicles, s.kafka_config(), topics["telemetry"]).start()
        try:
            # phase 1: the flow runs, then is stopped (SIGINT on leaving the context)
            with running_flow(FLOW, env, recovery_dir=recovery):
                time.sleep(BEFORE_S)
            down_at = time.monotonic()
            # phase 2: down for longer than the timeout; the last vehicle goes silent at its start
            drive.silence(silent)
            time.sleep(max(0.0, DOWN_S - (time.monotonic() - down_at)))
            downtime_s = time.monotonic() - down_at
            # phase 3: restart from the same recovery store; the five keep sending all along, so
            # none of them is ever silent while the flow runs (reading stops before that matters)
            with running_flow(FLOW, env, recovery_dir=recovery) as restarted:
                time.sleep(AFTER_S)

                def silent_offline(msgs: list) -> bool:
                    return any(json.loads(m.value())["vehicle_id"] == silent
                               and json.loads(m.value())["type"] == "device_offline" for m in msgs)

                records = consume(s, topics["alerts"], silent_offline, timeout_s=120, settle_s=8)
                log_path = restarted.log_path
        finally:
            drive.stop()

    alerts = [json.loads(m.value()) for m in records]
    ids = [a["alert_id"] for a in alerts]
    device = [a for a in alerts if a["type"] in ("device_offline", "device_online")]
    keeps_device = [a for a in device if a["vehicle_id"] in keeps]
    silent_offline_alerts = [a for a in device if a["vehicle_id"] == silent and a["type"] == "device_offline"]
    silent_online = [a for a in device if a["vehicle_id"] == silent and a["type"] == "device_online"]
    by_type: dict[str, int] = {}
    for a in alerts:
        by_type[a["type"]] = by_type.get(a["type"], 0) + 1
    print(f"\ndowntime {downtime_s:.1f} s (timeout {TIMEOUT_S} s); fixes sent {drive.sent}; "
          f"alerts read {len(alerts)} by type {by_type}; device alerts of the 5 that kept sending: {len(keeps_device)}; "
          f"device_offline of {silent}: {len(silent_offline_alerts)}, device_online: {len(silent_online)}; "
          f"distinct ids {len(set(ids))}; flow log {log_path}")
    if silent_offline_alerts:
        print(f"offline ts - last Kafka ts of {silent}: {silent_offline_alerts[0]['ts'] - drive.last_ts[silent]} ms")

    assert downtime_s > TIMEOUT_S
    assert all(drive.sent[v] >= BEFORE_S + DOWN_S + AFTER_S - 2 for v in keeps)
    assert keeps_device == [], "no device_offline/online for the vehicles that kept sending"
    assert len(silent_offline_alerts) == 1 and silent_online == []
    assert silent_offline_alerts[0]["ts"] == drive.last_ts[silent] + TIMEOUT_S * 1000, \
        "docs/alerts.md: device_offline ts = arrival of the last fix + offline_timeout_s"
    assert len(ids) == len(set(ids)), "no alert id twice"
    # the steady 50 km/h drive (moving from its first fix, so no ignition event) raises nothing else
    # but its motion_started at 500 m (36 s of fixes), once per vehicle that kept sending
    moving = sorted(a["vehicle_id"] for a in alerts if a["type"] == "motion_started")
    assert moving == sorted(keeps), f"one motion_started per vehicle that kept driving: {moving}"
    assert by_type == {"device_offline": 1, "motion_started": len(keeps)}, f"nothing else: {by_type}"
