"""The fleet registry a flow works with: the files loaded at start, then every change of the
compacted ``fleet.config`` topic applied live (sources/kafka_table.py)."""

from __future__ import annotations

from rules.fleet.geofence_shapes import GeofenceError
from rules.fleet.registry import Registry, RegistryError, apply_change
from settings.errors import ConfigError
from settings.registry_files import load_registry
from sources.kafka_table import CompactedTopicTable


class RegistryNotCaughtUp(RuntimeError):
    """The config topic could not be read to its end in time: the flow would start with stale vehicles."""


def start_live_registry(vehicles_file: str, geofences_file: str | None, config_topic: str, kafka_config: dict[str, str],
                        setting_prefix: str = "ANALYTICS_", timeout_s: float = 60.0) -> CompactedTopicTable[Registry]:
    """Load the registry files, start following the config topic, return once caught up.

    A bad file raises ``ConfigError`` naming the setting (``<prefix>VEHICLES_FILE`` ...) and the file."""
    try:
        initial = load_registry(vehicles_file, geofences_file or None)
    except (RegistryError, GeofenceError) as exc:
        raise ConfigError(f"configuration error ({setting_prefix}VEHICLES_FILE / {setting_prefix}GEOFENCES_FILE): {exc}") from None
    registry = CompactedTopicTable(kafka_config, config_topic, initial, apply_change).start()
    if not registry.wait_caught_up(timeout_s):
        raise RegistryNotCaughtUp(f"registry topic {config_topic} not read to its end within {timeout_s:.0f} s")
    return registry
