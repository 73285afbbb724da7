"""Fleets, vehicles and geofences: parsed from the registry files (read by ``settings.registry_files``)
at start, changed live from a compacted topic.

The change topic is keyed ``vehicle:<id>``, ``fleet:<id>`` or ``geofence:<id>``; the value is
the same JSON as in the files (a vehicle or fleet object, a GeoJSON Feature) or null, a
tombstone that deletes. ``apply_change`` returns a new Registry, so a bad change raises
``RegistryError`` and leaves the running registry as it was. ``lookup`` tells the dataflow
why a fix must go to the dead-letter topic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from contracts.registry import Fleet as Fleet  # re-exported: snapshots written before the move name it here
from contracts.registry import MaintenanceRule
from contracts.registry import Vehicle as Vehicle  # re-exported, as Fleet

from .geofence_shapes import Geofence, GeofenceError, parse_feature


class RegistryError(ValueError):
    """A bad registry file or change message; the message says where."""


@dataclass(frozen=True)
class Rejected:
    """Why a fix cannot be processed: ``unknown_vehicle`` or ``vehicle_deactivated``."""

    reason: Literal["unknown_vehicle", "vehicle_deactivated"]
    vehicle_id: str


@dataclass(frozen=True)
class Registry:
    fleets: Mapping[str, Fleet] = field(default_factory=dict)
    vehicles: Mapping[str, Vehicle] = field(default_factory=dict)
    geofences: Mapping[str, Geofence] = field(default_factory=dict)
    maintenance_rules: tuple[MaintenanceRule, ...] = ()

    def lookup(self, vehicle_id: str) -> Vehicle | Rejected:
        v = self.vehicles.get(vehicle_id)
        if v is None:
            return Rejected("unknown_vehicle", vehicle_id)
        if not v.active:
            return Rejected("vehicle_deactivated", vehicle_id)
        return v

    def fleet_of(self, vehicle: Vehicle) -> Fleet | None:
        return self.fleets.get(vehicle.fleet_id) if vehicle.fleet_id else None

    def fences_of(self, vehicle: Vehicle) -> Mapping[str, Geofence]:
        """The zones that apply to ``vehicle``, filtered once per vehicle and registry instead of per
        fix (a registry change makes a new Registry, so a new, empty cache); treat it as read-only."""
        key = (vehicle.id, vehicle.fleet_id)
        found = self._fences_by_vehicle.get(key)
        if found is None:
            found = self._fences_by_vehicle[key] = {
                gid: f for gid, f in self.geofences.items() if f.applies_to(vehicle.id, vehicle.fleet_id)}
        return found

    @cached_property
    def _fences_by_vehicle(self) -> dict[tuple[str, str | None], Mapping[str, Geofence]]:
        return {}


def parse_item(cls: type[BaseModel], doc: Any, where: str) -> Any:
    """One fleet, vehicle or maintenance rule with the strict model; ``RegistryError`` says where and what."""
    try:
        return cls.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "object"
        raise RegistryError(f"{where}: {loc}: {err['msg']}") from None


def parse_registry(doc: Any, source: str, geofences: Mapping[str, Geofence] | None = None) -> Registry:
    """``{"fleets": [...], "vehicles": [...], "maintenance_rules": [...]}`` -> Registry."""
    if not isinstance(doc, dict):
        raise RegistryError(f"{source}: must be a JSON object with fleets and vehicles")
    unknown = set(doc) - {"fleets", "vehicles", "maintenance_rules", "$comment"}
    if unknown:
        raise RegistryError(f"{source}: unknown keys {sorted(unknown)}")
    out: dict[str, dict[str, Any]] = {"fleets": {}, "vehicles": {}}
    for key, cls in (("fleets", Fleet), ("vehicles", Vehicle)):
        for i, item in enumerate(doc.get(key, [])):
            obj = parse_item(cls, item, f"{source}: {key}[{i}]")
            if obj.id in out[key]:
                raise RegistryError(f"{source}: {key}[{i}]: duplicate id {obj.id!r}")
            out[key][obj.id] = obj
    rules = tuple(parse_item(MaintenanceRule, r, f"{source}: maintenance_rules[{i}]") for i, r in enumerate(doc.get("maintenance_rules", [])))
    for v in out["vehicles"].values():
        if v.fleet_id is not None and v.fleet_id not in out["fleets"]:
            raise RegistryError(f"{source}: vehicle {v.id!r} names unknown fleet {v.fleet_id!r}")
    return Registry(out["fleets"], out["vehicles"], dict(geofences or {}), rules)


def apply_change(registry: Registry, key: str, value: bytes | str | None) -> Registry:
    """Apply one record of the compacted config topic; ``value=None`` is a tombstone (delete)."""
    kind, sep, ident = key.partition(":")
    if not sep or not ident or kind not in ("vehicle", "fleet", "geofence"):
        raise RegistryError(f"change key {key!r} is not vehicle:<id>, fleet:<id> or geofence:<id>")
    items: dict[str, Any] = dict(_items(registry, kind))
    if value is None:
        items.pop(ident, None)
        return _with_items(registry, kind, items)
    try:
        doc = json.loads(value)
    except ValueError as exc:
        raise RegistryError(f"change {key!r}: value is not JSON: {exc}") from None
    if kind == "geofence":
        try:
            obj: Any = parse_feature(doc, f"change {key!r}")
        except GeofenceError as exc:
            raise RegistryError(str(exc)) from None
    else:
        obj = parse_item(Vehicle if kind == "vehicle" else Fleet, doc, f"change {key!r}")
    if obj.id != ident:
        raise RegistryError(f"change {key!r}: body id {obj.id!r} does not match the key")
    items[ident] = obj
    return _with_items(registry, kind, items)


def _items(registry: Registry, kind: str) -> Mapping[str, Fleet | Vehicle | Geofence]:
    """The registry's items of one change-key kind (vehicle, fleet, geofence)."""
    if kind == "vehicle":
        return registry.vehicles
    return registry.fleets if kind == "fleet" else registry.geofences


def _with_items(registry: Registry, kind: str, items: dict[str, Any]) -> Registry:
    """The registry with the items of one change-key kind replaced."""
    if kind == "vehicle":
        return replace(registry, vehicles=items)
    return replace(registry, fleets=items) if kind == "fleet" else replace(registry, geofences=items)
