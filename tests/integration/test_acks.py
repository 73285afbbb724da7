"""Acknowledging an incident goes through Kafka and is visible to every other reader: the
dashboard's publish waits for the broker, a second reader (another dashboard) sees the latest
acknowledgement per incident, and the incident list then orders it after unacknowledged ones."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.acks import acknowledge, read_acks
from dashboard.incidents import incidents
from tests.support.services import kafka_topics, require_stack, unique

pytestmark = pytest.mark.integration


def test_acknowledgement_round_trip_through_a_compacted_topic() -> None:
    s = require_stack()
    topic = unique("acks")
    kafka = s.kafka_config()
    with kafka_topics(s, topic, partitions=1, config={"cleanup.policy": "compact"}):
        assert read_acks(kafka, topic) == {}
        first = acknowledge("inc-1", "van-01", "anna", "on it", topic=topic, kafka_conf=kafka, now_ms=1_795_000_000_000)
        acknowledge("inc-2", "van-02", "ben", topic=topic, kafka_conf=kafka, now_ms=1_795_000_001_000)
        again = acknowledge("inc-1", "van-01", "carla", "driver called back", topic=topic, kafka_conf=kafka, now_ms=1_795_000_002_000)
        seen = read_acks(kafka, topic)  # a fresh reader: another dashboard session
        assert seen == {"inc-1": again, "inc-2": seen["inc-2"]} and seen["inc-1"] != first
        assert (seen["inc-2"].by, seen["inc-2"].vehicle_id) == ("ben", "van-02")
        rows = pd.DataFrame([{"time": pd.Timestamp(t, unit="s", tz="UTC"), "alert_id": i, "incident_id": i, "state": "raised",
                              "severity": "critical", "vehicle_id": v, "type": "geofence_inside_forbidden", "message": "m"}
                             for i, v, t in (("inc-1", "van-01", 300), ("inc-2", "van-02", 200), ("inc-3", "van-03", 100))])
        order = incidents(rows, seen)
        assert list(order["incident_id"]) == ["inc-3", "inc-1", "inc-2"]  # the unacknowledged critical first
        assert list(order["acked_by"]) == ["", "carla", "ben"]
