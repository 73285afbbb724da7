"""Vehicles and geofences as the dashboard shows them: the fleet flows' own registry model.

The config files are read item by item with the flows' strict models
(``settings.registry_files.read_registry_items``), then overlaid with the latest record per key
of the compacted topic ``fleet.config`` (``live_config``, cached), applied with the flows'
``apply_change`` - ``access.fleet_config``, which the API uses too. So the pages show exactly
what the flows work with, and every item or change the flows would refuse is listed in ``problems`` for the admin page - never shown half-read,
never silently skipped.
"""

from __future__ import annotations

from pathlib import Path

from access.fleet_config import RegistryView, overlay, read_registry
from settings.topics import FLEET_CONFIG

__all__ = ["RegistryView", "load_registry", "overlay", "read_registry"]


def load_registry(vehicles_file: Path, geofences_file: Path, live: bool) -> RegistryView:
    """Files overlaid with ``fleet.config``; Kafka trouble is listed as a problem, not raised."""
    from dashboard import live_config  # Kafka only when a page asks for the live registry

    files = read_registry(vehicles_file, geofences_file)
    if not live:
        return files
    try:
        records = live_config.cached_records()
    except Exception as exc:  # noqa: BLE001 - any broker failure degrades to the files
        return RegistryView(files.vehicles, files.geofences, files.problems + (f"{FLEET_CONFIG} unavailable: {exc}",), files.fleets)
    return overlay(files, records)
