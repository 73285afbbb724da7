"""The fleet registry a flow works with: the files loaded at start, then every change of the
compacted ``fleet.config`` topic applied live (sources/kafka_table.py).

``load_live_registry`` only reads and checks the files (a bad one raises ``ConfigError``);
``start()`` - called when the flow starts running - starts following the topic and waits
until it was read to its end, so no fix is checked against a stale registry.
"""

from __future__ import annotations

from rules.fleet.geofence_shapes import GeofenceError
from rules.fleet.registry import Registry, RegistryError, apply_change
from settings.errors import ConfigError
from settings.registry_files import load_registry
from sources.kafka_table import CompactedTopicTable


class RegistryNotCaughtUp(RuntimeError):
    """The config topic could not be read to its end in time: the flow would start with stale vehicles."""


class LiveRegistry:
    """``current`` is the files' registry until ``start()``, then the topic's latest."""

    def __init__(self, initial: Registry, config_topic: str, kafka_config: dict[str, str], timeout_s: float = 60.0) -> None:
        self._table = CompactedTopicTable(kafka_config, config_topic, initial, apply_change)
        self._topic = config_topic
        self._timeout_s = timeout_s

    @property
    def current(self) -> Registry:
        return self._table.current

    def start(self) -> LiveRegistry:
        """Follow the config topic; return once it was read to its end (else ``RegistryNotCaughtUp``)."""
        self._table.start()
        if not self._table.wait_caught_up(self._timeout_s):
            raise RegistryNotCaughtUp(f"registry topic {self._topic} not read to its end within {self._timeout_s:.0f} s")
        return self


def load_live_registry(vehicles_file: str, geofences_file: str | None, config_topic: str, kafka_config: dict[str, str],
                       setting_prefix: str = "ANALYTICS_", timeout_s: float = 60.0) -> LiveRegistry:
    """Load the registry files into a not yet started ``LiveRegistry``.

    A bad file raises ``ConfigError`` naming the setting (``<prefix>VEHICLES_FILE`` ...) and the file."""
    try:
        initial = load_registry(vehicles_file, geofences_file or None)
    except (RegistryError, GeofenceError) as exc:
        raise ConfigError(f"configuration error ({setting_prefix}VEHICLES_FILE / {setting_prefix}GEOFENCES_FILE): {exc}") from None
    return LiveRegistry(initial, config_topic, kafka_config, timeout_s)
