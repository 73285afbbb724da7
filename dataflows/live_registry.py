"""The fleet registry every analytics process works with: the files loaded at start, then
every change of the compacted ``fleet.config`` topic applied live (sources/kafka_table.py)."""

from __future__ import annotations

from rules.fleet.geofence_shapes import GeofenceError
from rules.fleet.registry import Registry, RegistryError, apply_change, load_registry
from settings.errors import ConfigError
from settings.flows import AnalyticsSettings
from sources.kafka_table import CompactedTopicTable


def start_live_registry(analytics: AnalyticsSettings, kafka_config: dict[str, str],
                        timeout_s: float = 60.0) -> CompactedTopicTable[Registry]:
    """Load the registry files, start following the config topic, return once caught up.

    A bad file stops start-up with a message naming the setting and the file's key."""
    try:
        initial = load_registry(analytics.vehicles_file, analytics.geofences_file or None)
    except (RegistryError, GeofenceError) as exc:
        raise ConfigError(f"configuration error (ANALYTICS_VEHICLES_FILE / ANALYTICS_GEOFENCES_FILE): {exc}") from None
    registry = CompactedTopicTable(kafka_config, analytics.config_topic, initial, apply_change).start()
    if not registry.wait_caught_up(timeout_s):
        raise SystemExit(f"registry topic {analytics.config_topic} not read to its end within {timeout_s:.0f} s")
    return registry
