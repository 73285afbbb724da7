"""Reading the registry's files: ``config/vehicles.json`` and the GeoJSON of geofences.

``rules/fleet`` parses documents and never opens a file; these loaders read and parse them,
with errors (``RegistryError``, ``GeofenceError``) that name the file and the bad item.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from rules.fleet.geofence_shapes import Geofence, GeofenceError, parse_collection
from rules.fleet.registry import Registry, RegistryError, parse_registry
from rules.fleet.registry_items import collect_geofences, collect_registry


def read_json(path: Path, error: type[ValueError]) -> Any:
    """Parse a JSON file; raise ``error`` naming the file when it cannot be read or parsed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise error(f"{path}: not JSON: {exc}") from None


def load_geofences(path: str | Path) -> dict[str, Geofence]:
    """Read a GeoJSON file; raises GeofenceError naming the file and the bad feature."""
    path = Path(path)
    return parse_collection(read_json(path, GeofenceError), str(path))


def load_registry(vehicles_path: str | Path, geofences_path: str | Path | None = None) -> Registry:
    """Read ``config/vehicles.json`` (and the GeoJSON of geofences) at start."""
    path = Path(vehicles_path)
    doc = read_json(path, RegistryError)
    fences = load_geofences(geofences_path) if geofences_path else {}
    return parse_registry(doc, str(path), fences)


def read_registry_items(vehicles_path: str | Path, geofences_path: str | Path | None) -> tuple[Registry, list[str]]:
    """The files item by item (``rules.fleet.registry_items``): every item the flows accept, and a
    problem line (naming the file) for each one they refuse or a file that cannot be read."""
    problems: list[str] = []
    path = Path(vehicles_path)
    try:
        registry, found = collect_registry(read_json(path, RegistryError), str(path))
        problems += found
    except RegistryError as exc:
        registry = Registry()
        problems.append(str(exc))
    if geofences_path:
        gpath = Path(geofences_path)
        try:
            fences, found = collect_geofences(read_json(gpath, GeofenceError), str(gpath))
            registry = replace(registry, geofences=fences)
            problems += found
        except GeofenceError as exc:
            problems.append(str(exc))
    return registry, problems
