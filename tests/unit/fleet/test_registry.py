import json
from pathlib import Path

import pytest

from rules.fleet.config import FleetSettings
from rules.fleet.registry import Registry, RegistryError, Rejected, apply_change, parse_registry
from settings.registry_files import load_registry
from settings.rules_env import load_fleet_settings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def reg() -> Registry:
    return load_registry(REPO / "config" / "vehicles.json", REPO / "config" / "geofences.geojson")


def test_example_registry(reg):
    assert len(reg.vehicles) == 10 and set(reg.fleets) == {"logistics", "taxi", "family"}
    assert {r.id for r in reg.maintenance_rules} == {"oil", "inspection", "brakes"}
    van = reg.lookup("van-01")
    assert van.fleet_id == "logistics" and reg.fleet_of(van).speed_limit_kmh == 90
    assert van.last_service["oil"].odometer_km == 84000


def test_lookup_reasons_for_the_dead_letter_topic(reg):
    assert reg.lookup("van-05") == Rejected("vehicle_deactivated", "van-05")
    assert reg.lookup("ghost") == Rejected("unknown_vehicle", "ghost")


def test_live_changes_take_effect_without_touching_the_old_registry(reg):
    new = apply_change(reg, "vehicle:van-05", json.dumps({"id": "van-05", "name": "Van 05", "fleet_id": "logistics"}))
    assert new.lookup("van-05").active and reg.lookup("van-05").reason == "vehicle_deactivated"
    new = apply_change(new, "vehicle:van-01", None)
    assert new.lookup("van-01").reason == "unknown_vehicle"
    new = apply_change(new, "fleet:taxi", b'{"id": "taxi", "name": "Taxi", "speed_limit_kmh": 80}')
    assert new.fleets["taxi"].speed_limit_kmh == 80
    zone = {"type": "Feature", "properties": {"id": "z1", "kind": "forbidden", "radius_m": 50},
            "geometry": {"type": "Point", "coordinates": [13.4, 52.52]}}
    new = apply_change(new, "geofence:z1", json.dumps(zone))
    assert new.geofences["z1"].contains(52.52, 13.4)
    assert "z1" not in apply_change(new, "geofence:z1", None).geofences


@pytest.mark.parametrize("key,value,words", [
    ("car:1", "{}", "is not vehicle:<id>"),
    ("vehicle:", "{}", "is not vehicle:<id>"),
    ("vehicle:v1", "{nope", "not JSON"),
    ("vehicle:v1", '{"id": "v2", "name": "x"}', "does not match the key"),
    ("vehicle:v1", '{"id": "v1", "name": "x", "speed_limt_kmh": 50}', "speed_limt_kmh"),
    ("geofence:z1", '{"type": "Feature", "properties": {"id": "z1", "kind": "forbidden"}, '
                    '"geometry": {"type": "Point", "coordinates": [13.4, 52.5]}}', "radius_m"),
])
def test_bad_changes_are_refused_with_a_reason(reg, key, value, words):
    with pytest.raises(RegistryError, match=words):
        apply_change(reg, key, value)


def test_bad_files_name_the_place(tmp_path):
    with pytest.raises(RegistryError, match=r"x.json: vehicles\[0\]: fleet_id"):
        parse_registry({"vehicles": [{"id": "v1", "name": "a", "fleet_id": 3}]}, "x.json")
    with pytest.raises(RegistryError, match="unknown fleet 'nope'"):
        parse_registry({"vehicles": [{"id": "v1", "name": "a", "fleet_id": "nope"}]}, "x.json")
    with pytest.raises(RegistryError, match="duplicate id 'v1'"):
        parse_registry({"vehicles": [{"id": "v1", "name": "a"}, {"id": "v1", "name": "b"}]}, "x.json")
    with pytest.raises(RegistryError, match="unknown keys"):
        parse_registry({"vehicle": []}, "x.json")
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry(tmp_path / "none.json")


def test_settings_from_environment(monkeypatch):
    monkeypatch.setenv("FLEET_OVERSPEED_MIN_DURATION_S", "5")
    monkeypatch.setenv("FLEET_DEFAULT_SPEED_LIMIT_KMH", "80")
    s = load_fleet_settings()
    assert s.overspeed_min_duration_s == 5 and s.default_speed_limit_kmh == 80 and s.reorder_max_pending == 3600
    for name, f in FleetSettings.model_fields.items():
        assert f.description, f"{name} has no description (unit)"
