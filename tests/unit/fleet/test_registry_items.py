"""Registry documents item by item: the strict models' verdict on every item, none skipped silently."""

from __future__ import annotations

from rules.fleet.registry import Registry
from rules.fleet.registry_items import apply_changes, collect_geofences, collect_registry

CIRCLE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
          "properties": {"id": "depot", "kind": "allowed", "radius_m": 300}}


def test_collect_registry_keeps_the_good_items_and_names_the_bad() -> None:
    doc = {"fleets": [{"id": "f1", "name": "F"}, {"id": "f1", "name": "again"}],
           "vehicles": [{"id": "v1", "name": "A", "fleet_id": "f1"}, {"id": "v2", "name": "B", "colour": "red"},
                        {"id": "v3", "name": "C", "fleet_id": "f9"}], "extra": 1}
    registry, problems = collect_registry(doc, "vehicles.json")
    assert list(registry.fleets) == ["f1"] and list(registry.vehicles) == ["v1"]
    assert problems == ["vehicles.json: unknown keys ['extra']",
                        "vehicles.json: fleets[1]: duplicate id 'f1'",
                        "vehicles.json: vehicles[1]: colour: Extra inputs are not permitted",
                        "vehicles.json: vehicle 'v3' names unknown fleet 'f9'"]
    assert collect_registry([], "x.json") == (Registry(), ["x.json: must be a JSON object with fleets and vehicles"])


def test_collect_geofences_and_apply_changes() -> None:
    bad = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
           "properties": {"id": "nope", "kind": "allowed"}}
    fences, problems = collect_geofences({"type": "FeatureCollection", "features": [CIRCLE, bad, CIRCLE]}, "g.geojson")
    assert list(fences) == ["depot"] and fences["depot"].feature == CIRCLE
    assert problems == ["g.geojson: feature #1 (id 'nope'): property radius_m must be a positive number (got None)",
                        "g.geojson: feature #2: duplicate id 'depot'"]
    registry, problems = apply_changes(Registry(geofences=fences), {"geofence:depot": None, "vehicle:v1": b'{"id": "v2", "name": "x"}'},
                                       "fleet.config")
    assert registry.geofences == {} and registry.vehicles == {}
    assert problems == ["fleet.config: change 'vehicle:v1': body id 'v2' does not match the key"]
