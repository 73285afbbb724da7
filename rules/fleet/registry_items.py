"""The registry's documents parsed item by item: what the flows accept, and why they refuse the rest.

The flows refuse a whole registry file on its first bad item (``parse_registry``,
``parse_collection``). The admin page needs more: every item the flows accept, and for each
one they refuse the reason, with the same strict models - never a tolerant second reading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from contracts.registry import Fleet, Vehicle

from .geofence_shapes import Geofence, GeofenceError, parse_feature
from .registry import Registry, RegistryError, apply_change, parse_item


def _keep(into: dict[str, Any], parse: Callable[[], Any], where: str, problems: list[str]) -> None:
    """Parse one item into ``into`` by its id; its refusal or a duplicate id becomes a problem line."""
    try:
        obj = parse()
    except (RegistryError, GeofenceError) as exc:
        problems.append(str(exc))
        return
    if obj.id in into:
        problems.append(f"{where}: duplicate id {obj.id!r}")
    else:
        into[obj.id] = obj


def collect_registry(doc: Any, source: str) -> tuple[Registry, list[str]]:
    """Fleets and vehicles the strict models accept; a problem line for every other item."""
    if not isinstance(doc, dict):
        return Registry(), [f"{source}: must be a JSON object with fleets and vehicles"]
    problems: list[str] = []
    unknown = set(doc) - {"fleets", "vehicles", "maintenance_rules", "$comment"}
    if unknown:
        problems.append(f"{source}: unknown keys {sorted(unknown)}")
    fleets: dict[str, Fleet] = {}
    vehicles: dict[str, Vehicle] = {}
    groups: tuple[tuple[str, type[Fleet] | type[Vehicle], dict[str, Any]], ...] = (("fleets", Fleet, fleets), ("vehicles", Vehicle, vehicles))
    for key, cls, into in groups:
        items = doc.get(key, [])
        if not isinstance(items, list):
            problems.append(f"{source}: {key} must be a list")
            continue
        for i, item in enumerate(items):
            where = f"{source}: {key}[{i}]"
            _keep(into, partial(parse_item, cls, item, where), where, problems)
    for vid, v in list(vehicles.items()):
        if v.fleet_id is not None and v.fleet_id not in fleets:
            problems.append(f"{source}: vehicle {vid!r} names unknown fleet {v.fleet_id!r}")
            del vehicles[vid]
    return Registry(fleets, vehicles), problems


def collect_geofences(doc: Any, source: str) -> tuple[dict[str, Geofence], list[str]]:
    """Geofences of a FeatureCollection the flows' parser accepts; a problem line for every other feature."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        return {}, [f"{source}: not a GeoJSON FeatureCollection with a features list"]
    fences: dict[str, Geofence] = {}
    problems: list[str] = []
    for i, feature in enumerate(doc["features"]):
        where = f"{source}: feature #{i}"
        _keep(fences, partial(parse_feature, feature, where), where, problems)
    return fences, problems


def apply_changes(registry: Registry, records: Mapping[str, bytes | None], source: str) -> tuple[Registry, list[str]]:
    """Apply the latest record per key of the config topic (``apply_change``); a problem line per refused record."""
    problems: list[str] = []
    for key in sorted(records):
        try:
            registry = apply_change(registry, key, records[key])
        except (RegistryError, GeofenceError) as exc:
            problems.append(f"{source}: {exc}")
    return registry, problems
