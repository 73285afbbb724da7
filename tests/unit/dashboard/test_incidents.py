"""Incidents from alert rows and acknowledgements: grouping, latest state, order."""

from __future__ import annotations

import pandas as pd
import pytest

from contracts.ack import Ack, InvalidAck, parse_ack
from dashboard.incidents import incidents


def row(alert_id, t, severity="warning", state="raised", incident_id=None, vehicle="v1", type_="battery_low", msg="m"):
    return {"time": pd.Timestamp(t, unit="s", tz="UTC"), "alert_id": alert_id, "incident_id": incident_id, "state": state,
            "severity": severity, "vehicle_id": vehicle, "type": type_, "message": msg}


def test_incidents_group_by_id_keep_the_highest_severity_and_the_latest_state_and_order_unacked_critical_first():
    alerts = pd.DataFrame([
        row("a1", 100, "warning"), row("a2", 200, "critical", "escalated", "a1", msg="now critical"),  # one incident, escalated
        row("b1", 150, "critical", vehicle="v2", type_="geofence_inside_forbidden"),  # critical, acknowledged below
        row("c1", 300, "warning", vehicle="v3"),  # warning, open
        row("d1", 50, "critical", vehicle="v4"), row("d2", 400, "info", "cleared", "d1"),  # cleared
        {**row("e1", 500, "critical", vehicle="v5"), "incident_id": None, "state": None},  # a record from before incidents
    ])
    acks = {"b1": Ack("b1", "v2", "manager", 1_000_000, "on it")}
    got = incidents(alerts, acks)
    assert list(got["incident_id"]) == ["e1", "a1", "c1", "b1", "d1"]
    a1 = got.set_index("incident_id").loc["a1"]
    assert (a1["severity"], a1["state"], a1["message"], a1["acked_by"]) == ("critical", "escalated", "now critical", "")
    assert got.set_index("incident_id").loc["b1", "acked_by"] == "manager"
    assert list(got["open"]) == [True, True, True, True, False]
    assert incidents(alerts.iloc[0:0], {}).empty


def test_ack_record_round_trip_and_refusals():
    ack = Ack("i1", "v1", "anna", 1_795_000_000_000, "called the driver")
    assert parse_ack(ack.to_json()) == ack
    for bad, why in [(None, "tombstone"), (b"{", "not JSON"), (b"[]", "object"), (b'{"incident_id": "i", "vehicle_id": "v"}', "by"),
                     (b'{"incident_id": "i", "vehicle_id": "v", "by": "x", "ack_ts_ms": true}', "ack_ts_ms")]:
        with pytest.raises(InvalidAck, match=why):
            parse_ack(bad)
