"""Traccar-style events through the real MQTT broker, Kafka and both fleet flows (issue 17).

The scripted ``sos_drive`` (key on, 1 km, SOS pressed, park) raises each new event type -
``ignition_on``, ``motion_started``, ``device_alarm``, ``ignition_off``, ``motion_stopped`` -
exactly once, and ``forbidden_pass`` (a sparse device passing a forbidden zone between two
fixes) the segment check's estimated enter / inside_forbidden / exit. Published over MQTT as
a device would (JSON with ``alarm``), through the ingest (Avro v2 on Kafka) and the analytics
flow, read back from the run's own alerts topic: exactly the alerts, ids and crossing times
the pure engine computes for the same input.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from contracts import alert as A
from contracts.avro import decode, header_version
from rules.fleet.config import FleetSettings
from settings.registry_files import load_registry
from simulators.scenario_plan import parse_selection, plan
from simulators.scenario_replay import replay
from tests.integration.test_fleet_analytics import compacted_topic, private_registry
from tests.support.services import consume, kafka_topics, publish, require_stack, running_flow, unique

pytestmark = pytest.mark.integration

CFG = FleetSettings(offline_timeout_s=3600)  # nothing goes offline during the test
NEW_TYPES = (A.IGNITION_ON, A.MOTION_STARTED, A.DEVICE_ALARM, A.IGNITION_OFF, A.MOTION_STOPPED)


def test_sos_drive_raises_each_new_event_once_and_a_sparse_pass_is_caught(tmp_path: Path) -> None:
    s = require_stack()
    run = unique("trc")
    prefix = f"{run}-"
    vehicles_file, geofences_file = private_registry(tmp_path, prefix)
    registry = load_registry(vehicles_file, geofences_file)
    selection = parse_selection("sos_drive,forbidden_pass")
    now = int(time.time() * 1000)
    start = now - plan(selection, registry, now, CFG, prefix).span_ms - 60_000  # every event time in the past
    the_plan = plan(selection, registry, start, CFG, prefix)
    messages = the_plan.messages
    expected = replay(messages, registry, CFG, arrivals=[now + i for i in range(len(messages))], tick_ms=1000)
    sos, passer = f"{prefix}taxi-02", f"{prefix}taxi-04"
    assert expected.counts(sos) == {t: 1 for t in NEW_TYPES}  # the pure engine, as documented
    assert expected.counts(passer) == dict(the_plan.expected()[passer])

    topics = {k: f"{run}.{k}" for k in ("telemetry", "deadletter", "alerts", "trips", "points")}
    env = {"INGEST_TELEMETRY_TOPIC": topics["telemetry"], "INGEST_DEADLETTER_TOPIC": topics["deadletter"],
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run,
           **{f"ANALYTICS_{k.upper()}_TOPIC": t for k, t in topics.items()},
           "ANALYTICS_CONFIG_TOPIC": f"{run}.config", "ANALYTICS_VEHICLES_FILE": str(vehicles_file),
           "ANALYTICS_GEOFENCES_FILE": str(geofences_file), "ANALYTICS_FROM_BEGINNING": "true",
           "ANALYTICS_TICK_INTERVAL_S": "1", "FLEET_OFFLINE_TIMEOUT_S": str(CFG.offline_timeout_s)}
    with kafka_topics(s, *topics.values()), compacted_topic(s, f"{run}.config"):
        with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=1) as ingest, \
             running_flow("dataflows.fleet_analytics:build_flow()", env, workers=1) as analytics:
            ingest.wait_for_log('"event": "mqtt_subscribed"')
            analytics.wait_for_log('"event": "table_caught_up"')
            publish(s.mqtt_url, [(m.topic, json.dumps(m.payload).encode()) for m in messages])
            alert_msgs = consume(s, topics["alerts"], lambda m: len(m) >= len(expected.alerts), timeout_s=90, settle_s=5)
            telemetry = consume(s, topics["telemetry"], lambda m: len(m) >= len(messages), timeout_s=10, settle_s=0)

    # the ingest wrote Avro v2 with the alarm as the device sent it
    records = [decode("telemetry", m.value(), header_version(m.headers())) for m in telemetry]
    assert all(header_version(m.headers()) == 2 for m in telemetry)
    sos_messages = len([m for m in messages if sos in m.topic])
    assert Counter(r["alarm"] for r in records if r["vehicle_id"] == sos) == Counter({None: sos_messages - 2, "sos": 2})

    got = [json.loads(m.value()) for m in alert_msgs]
    assert Counter(a["alert_id"] for a in got) == Counter(a.alert_id for a in expected.alerts)
    assert len({a["alert_id"] for a in got}) == len(got) == len(expected.alerts) == 5 + 7
    mine = Counter(a["type"] for a in got if a["vehicle_id"] == sos)
    assert mine == Counter({t: 1 for t in NEW_TYPES}), "each new type exactly once"
    alarm = next(a for a in got if a["type"] == A.DEVICE_ALARM)
    assert (alarm["severity"], alarm["details"]) == ("critical", {"kind": "sos", "raw": "sos"})
    pure = {a.alert_id: a for a in expected.alerts}
    for a in got:
        p = pure[a["alert_id"]]
        assert (a["ts"], a["type"], a["geofence_id"], a["details"]) == (p.ts, p.type, p.geofence_id, p.details)
    crossed = {a["type"]: a for a in got if a["vehicle_id"] == passer and a["geofence_id"] == "tegel-restricted"}
    assert set(crossed) == {A.GEOFENCE_ENTER, A.GEOFENCE_INSIDE_FORBIDDEN, A.GEOFENCE_EXIT}
    enter, leave = crossed[A.GEOFENCE_ENTER]["details"], crossed[A.GEOFENCE_EXIT]["details"]
    assert enter["estimated"] and enter["between_ts"] == leave["between_ts"]
    assert enter["between_ts"][0] < enter["crossed_at_ts"] < leave["crossed_at_ts"] < enter["between_ts"][1]
