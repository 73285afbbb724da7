"""Reading the registry's files: ``config/vehicles.json`` and the GeoJSON of geofences.

``rules/fleet`` parses documents and never opens a file; these loaders read and parse them,
with errors (``RegistryError``, ``GeofenceError``) that name the file and the bad item.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rules.fleet.geofence_shapes import Geofence, GeofenceError, parse_collection
from rules.fleet.registry import Registry, RegistryError, parse_registry


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
