"""Vehicles and geofences as the dashboard shows them: the fleet flows' own registry model.

The config files are read item by item with the flows' strict models
(``settings.registry_files.read_registry_items``), then overlaid with the latest record per key
of the compacted topic ``fleet.config`` (``live_config``), applied with the flows'
``apply_change``. So the pages show exactly what the flows work with, and every item or change
the flows would refuse is listed in ``problems`` for the admin page - never shown half-read,
never silently skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contracts.registry import Vehicle
from rules.fleet.geofence_shapes import Geofence
from rules.fleet.registry import Registry
from rules.fleet.registry_items import apply_changes
from settings.registry_files import read_registry_items
from settings.topics import FLEET_CONFIG


@dataclass(frozen=True)
class RegistryView:
    """Vehicles and geofences by id, and what the flows would refuse (file items, topic records)."""

    vehicles: Mapping[str, Vehicle]
    geofences: Mapping[str, Geofence]
    problems: tuple[str, ...] = ()


def overlay(files: RegistryView, records: Mapping[str, bytes | None]) -> RegistryView:
    """The files' registry after the latest ``fleet.config`` record per key (None = deleted)."""
    applied, problems = apply_changes(Registry(vehicles=dict(files.vehicles), geofences=dict(files.geofences)), records,
                                      FLEET_CONFIG)
    return RegistryView(applied.vehicles, applied.geofences, files.problems + tuple(problems))


def read_registry(vehicles_file: Path, geofences_file: Path) -> RegistryView:
    """The registry of the config files (no live overlay)."""
    registry, problems = read_registry_items(vehicles_file, geofences_file)
    return RegistryView(registry.vehicles, registry.geofences, tuple(problems))


def load_registry(vehicles_file: Path, geofences_file: Path, live: bool) -> RegistryView:
    """Files overlaid with ``fleet.config``; Kafka trouble is listed as a problem, not raised."""
    from dashboard import live_config  # Kafka only when a page asks for the live registry

    files = read_registry(vehicles_file, geofences_file)
    if not live:
        return files
    try:
        records = live_config.cached_records()
    except Exception as exc:  # noqa: BLE001 - any broker failure degrades to the files
        return RegistryView(files.vehicles, files.geofences, files.problems + (f"{FLEET_CONFIG} unavailable: {exc}",))
    return overlay(files, records)
