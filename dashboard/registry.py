"""Vehicles and geofences as the dashboard shows them: the config files, overlaid by live changes.

Read tolerantly (a missing or partly broken file still shows what is readable, with the
problems listed) because the fleet flows own these files; the dashboard only displays them
and publishes changes to ``fleet.config`` (see ``live_config``), whose latest record per
key wins over the file: ``vehicle:<id>`` / ``geofence:<id>``, JSON value, null = deleted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

GEOFENCE_KINDS = ("allowed", "forbidden", "zone")  # zone: only a speed limit, no enter/exit rule
_GEOMETRIES = ("Polygon", "MultiPolygon", "Point", "LineString")


@dataclass(frozen=True)
class VehicleInfo:
    """One vehicle of the registry (same fields as ``rules.fleet.registry.Vehicle``)."""

    id: str
    name: str
    fleet_id: str | None = None
    owner: str | None = None
    active: bool = True
    speed_limit_kmh: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The value published on ``fleet.config`` under ``vehicle:<id>``.

        Fields the dashboard does not show (e.g. ``last_service``) are kept from the source
        record, so a change of the speed limit does not erase the maintenance history.
        """
        shown = {k: v for k, v in asdict(self).items() if k != "raw"}
        return {**dict(self.raw), **shown}


@dataclass(frozen=True)
class Geofence:
    """One geofence: its GeoJSON feature and the properties the dashboard shows."""

    id: str
    name: str
    kind: str
    geometry: Mapping[str, Any]
    speed_limit_kmh: float | None = None
    vehicles: tuple[str, ...] = ()
    fleets: tuple[str, ...] = ()
    schedule: Any = None
    feature: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registry:
    """Vehicles and geofences by id, and what could not be read."""

    vehicles: dict[str, VehicleInfo]
    geofences: dict[str, Geofence]
    problems: tuple[str, ...] = ()


def _opt_float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) and out > 0 else None


def vehicle_from_json(data: Any, default_id: str | None = None) -> VehicleInfo:
    """A vehicle from a JSON object; raises ValueError when it has no id."""
    if not isinstance(data, dict):
        raise ValueError("vehicle entry is not an object")
    vid = str(data.get("id") or data.get("vehicle_id") or default_id or "").strip()
    if not vid:
        raise ValueError("vehicle entry without id")
    fleet = data.get("fleet_id")
    owner = data.get("owner")
    return VehicleInfo(id=vid, name=str(data.get("name") or vid), fleet_id=None if fleet is None else str(fleet),
                       owner=None if owner is None else str(owner), active=bool(data.get("active", True)),
                       speed_limit_kmh=_opt_float(data.get("speed_limit_kmh")), raw=dict(data))


def parse_vehicles(doc: Any) -> tuple[dict[str, VehicleInfo], list[str]]:
    """Accepts a list of vehicles, ``{"vehicles": [...]}`` or ``{id: {...}}``."""
    if isinstance(doc, dict) and "vehicles" in doc:
        doc = doc["vehicles"]
    items = list(doc.items()) if isinstance(doc, dict) else [(None, v) for v in (doc or [])]
    vehicles: dict[str, VehicleInfo] = {}
    problems: list[str] = []
    for key, entry in items:
        try:
            v = vehicle_from_json(entry, key)
            vehicles[v.id] = v
        except ValueError as exc:
            problems.append(f"vehicle {key or '?'}: {exc}")
    return vehicles, problems


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def geofence_from_feature(feature: Any) -> Geofence:
    """A geofence from a GeoJSON feature; ValueError says what is wrong with it."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    props = feature.get("properties") or {}
    geometry = feature.get("geometry") or {}
    gid = str(props.get("id") or feature.get("id") or "").strip()
    if not gid:
        raise ValueError("feature without properties.id")
    kind = str(props.get("kind", "")).lower()
    if kind not in GEOFENCE_KINDS:
        raise ValueError(f"geofence {gid}: kind must be one of {', '.join(GEOFENCE_KINDS)}, not {props.get('kind')!r}")
    if geometry.get("type") not in _GEOMETRIES or not isinstance(geometry.get("coordinates"), list):
        raise ValueError(f"geofence {gid}: geometry must be one of {', '.join(_GEOMETRIES)} with coordinates")
    if geometry["type"] == "Point" and _opt_float(props.get("radius_m")) is None:
        raise ValueError(f"geofence {gid}: a Point (circle) needs properties.radius_m > 0")
    if geometry["type"] == "LineString" and _opt_float(props.get("width_m")) is None:
        raise ValueError(f"geofence {gid}: a LineString (corridor) needs properties.width_m > 0")
    return Geofence(id=gid, name=str(props.get("name") or gid), kind=kind, geometry=geometry,
                    speed_limit_kmh=_opt_float(props.get("speed_limit_kmh")), vehicles=_as_tuple(props.get("vehicles")),
                    fleets=_as_tuple(props.get("fleets")), schedule=props.get("schedule"), feature=feature)


def parse_geofences(doc: Any) -> tuple[dict[str, Geofence], list[str]]:
    """Geofences of a FeatureCollection (or a single Feature) and the features that were refused."""
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return {}, ["not a GeoJSON FeatureCollection"]
    geofences: dict[str, Geofence] = {}
    problems: list[str] = []
    for i, feature in enumerate(doc.get("features") or []):
        try:
            g = geofence_from_feature(feature)
            if g.id in geofences:
                problems.append(f"feature {i}: duplicate id {g.id}")
            geofences[g.id] = g
        except ValueError as exc:
            problems.append(f"feature {i}: {exc}")
    return geofences, problems


def _read_json(path: Path, problems: list[str]) -> Any:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        problems.append(f"{path.name}: {exc}")
        return None


def apply_overlay(registry: Registry, records: Mapping[str, Any]) -> Registry:
    """The registry after the live records (``vehicle:<id>`` / ``geofence:<id>``, None = delete)."""
    vehicles, geofences = dict(registry.vehicles), dict(registry.geofences)
    problems = list(registry.problems)
    for key, value in records.items():
        kind, _, ident = key.partition(":")
        try:
            if kind == "vehicle":
                if value is None:
                    vehicles.pop(ident, None)
                else:
                    vehicles[ident] = replace(vehicle_from_json(value, ident), id=ident)
            elif kind == "geofence":
                if value is None:
                    geofences.pop(ident, None)
                else:
                    geofences[ident] = replace(geofence_from_feature(value), id=ident)
        except ValueError as exc:
            problems.append(f"fleet.config {key}: {exc}")
    return Registry(vehicles, geofences, tuple(problems))


def read_registry(vehicles_file: Path, geofences_file: Path) -> Registry:
    """The registry of the config files (no live overlay)."""
    problems: list[str] = []
    vehicles, vp = parse_vehicles(_read_json(vehicles_file, problems))
    doc = _read_json(geofences_file, problems)
    geofences, gp = parse_geofences(doc) if doc is not None else ({}, [])
    return Registry(vehicles, geofences, tuple(problems + vp + gp))


def load_registry(vehicles_file: Path, geofences_file: Path, live: bool) -> Registry:
    """Files overlaid with ``fleet.config``; Kafka trouble is listed as a problem, not raised."""
    from dashboard import live_config  # Kafka only when a page asks for the live registry

    registry = read_registry(vehicles_file, geofences_file)
    if not live:
        return registry
    try:
        records = live_config.cached_latest()
    except Exception as exc:  # noqa: BLE001 - any broker failure degrades to the files
        return replace(registry, problems=registry.problems + (f"fleet.config unavailable: {exc}",))
    return apply_overlay(registry, records)
