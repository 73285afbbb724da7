import json

import pytest

from contracts import alert as A


def _alert(**kw):
    base = dict(vehicle_id="v1", fleet_id="f1", type=A.OVERSPEED, severity="warning", ts=2000, episode_ts=1000,
                message="m", value=101.23456, threshold=100, lat=52.5, lon=13.4)
    base.update(kw)
    return A.make_alert(**base)


def test_id_is_deterministic_and_ignores_firing_time():
    assert _alert().alert_id == _alert(ts=9999, message="other").alert_id
    assert len(_alert().alert_id) == 32


def test_id_changes_with_episode_type_vehicle_geofence():
    ids = {
        _alert().alert_id,
        _alert(episode_ts=1001).alert_id,
        _alert(type=A.OVERSPEED_END, severity="info").alert_id,
        _alert(vehicle_id="v2").alert_id,
        _alert(geofence_id="g1").alert_id,
        _alert(id_parts=("P0301",)).alert_id,
    }
    assert len(ids) == 6


def test_to_json_has_every_documented_field():
    doc = json.loads(_alert(geofence_id="g1", details={"start_ts": 1000}).to_json())
    assert set(doc) == {"alert_id", "vehicle_id", "fleet_id", "type", "severity", "ts", "value", "threshold",
                        "lat", "lon", "geofence_id", "message", "details", "state", "incident_id", "place"}
    assert doc["value"] == 101.235 and doc["ts"] == 2000 and doc["details"] == {"start_ts": 1000}
    assert doc["state"] == "raised" and doc["incident_id"] == doc["alert_id"]  # a raise names its own incident


def test_json_round_trip_and_records_older_than_incidents():
    a = _alert(state="escalated", incident_id="abc", severity="critical")
    assert A.Alert.from_dict(json.loads(a.to_json())) == a
    old = json.loads(_alert().to_json())
    del old["state"], old["incident_id"]
    back = A.Alert.from_dict({**old, "added_later": 1})
    assert back.state == "raised" and back.incident_id == back.alert_id == old["alert_id"]
    with pytest.raises(ValueError, match="incident state"):
        _alert(state="open")


def test_unknown_type_or_severity_is_refused():
    with pytest.raises(ValueError):
        _alert(type="speeding")
    with pytest.raises(ValueError):
        _alert(severity="high")


def test_types_are_unique():
    assert len(set(A.ALERT_TYPES)) == len(A.ALERT_TYPES)
