"""The compacted Kafka topic ``fleet.config``: read its latest record per key, publish changes - for dashboard and API.

The fleet flows follow this topic for live registry changes (``sources/kafka_table.py``). The
dashboard's admin page and the API's write endpoints publish through ``publish`` here - one
publisher: a change is checked with the flows' own parser (``apply_change``) before it is sent,
and a publish waits for the broker's acknowledgement and raises on failure, so neither ever says
"published" for a change that was refused or lost. ``RegistryView`` is the registry the flows
work with: the config files item by item, overlaid with the latest record per key of the topic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.registry import Fleet, Vehicle
from rules.fleet.geofence_shapes import Geofence, GeofenceError
from rules.fleet.registry import Registry, RegistryError, apply_change
from rules.fleet.registry_items import apply_changes
from settings.registry_files import read_registry_items
from settings.topics import FLEET_CONFIG
from sinks.kafka_producer import make_producer
from sources.kafka_table import read_to_end

READ_TIMEOUT_S = 5.0


class PublishError(RuntimeError):
    """A record was refused by the flows' parser (nothing sent) or not acknowledged by Kafka."""


def vehicle_key(vehicle_id: str) -> str:
    return f"vehicle:{vehicle_id}"


def fleet_key(fleet_id: str) -> str:
    return f"fleet:{fleet_id}"


def geofence_key(geofence_id: str) -> str:
    return f"geofence:{geofence_id}"


def _keep_latest(records: dict[str, bytes | None], key: str, value: bytes | None) -> dict[str, bytes | None]:
    # In place: this table is read only after it has stopped.
    records[key] = value
    return records


def latest_records(kafka_conf: dict[str, str], topic: str = FLEET_CONFIG, timeout_s: float = READ_TIMEOUT_S) -> dict[str, bytes | None]:
    """Latest value per key (None = tombstone), read from the beginning to the topic's current end."""
    table: dict[str, bytes | None] = read_to_end(kafka_conf, topic, {}, _keep_latest, timeout_s)
    return dict(table)


def read_latest(kafka_conf: dict[str, str], topic: str = FLEET_CONFIG, timeout_s: float = READ_TIMEOUT_S) -> dict[str, Any]:
    """``latest_records`` with the values as JSON (a value that is not JSON stays its text)."""
    out: dict[str, Any] = {}
    for key, raw in latest_records(kafka_conf, topic, timeout_s).items():
        try:
            out[key] = None if raw is None else json.loads(raw)
        except ValueError:
            out[key] = raw.decode("utf-8", "replace") if raw is not None else None
    return out


def refusals(records: Iterable[tuple[str, dict[str, Any] | None]]) -> list[str]:
    """Why the fleet flows would refuse each record: ``apply_change`` is what they run on it."""
    problems = []
    for key, value in records:
        if value is None:
            continue
        try:
            apply_change(Registry(), key, json.dumps(value))
        except (RegistryError, GeofenceError) as exc:
            problems.append(str(exc))
    return problems


def publish(records: Iterable[tuple[str, dict[str, Any] | None]], kafka_conf: dict[str, str], topic: str = FLEET_CONFIG,
            timeout_s: float = 10.0) -> int:
    """Check, send ``(key, value)`` records (None = delete) and wait for every acknowledgement; how many were sent."""
    records = list(records)
    refused = refusals(records)
    if refused:
        raise PublishError("refused, nothing published: " + "; ".join(refused))
    producer = make_producer(kafka_conf)
    errors: list[str] = []
    sent = 0

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(f"{msg.key()!r}: {err}")

    for key, value in records:
        payload = None if value is None else json.dumps(value, separators=(",", ":")).encode("utf-8")
        producer.produce(topic, key=key.encode("utf-8"), value=payload, on_delivery=on_delivery)
        sent += 1
    left = producer.flush(timeout_s)
    if left:
        errors.append(f"{left} record(s) not acknowledged within {timeout_s} s")
    if errors:
        raise PublishError("; ".join(errors))
    return sent


def vehicle_record(v: Vehicle, **changes: Any) -> dict[str, Any]:
    """The ``vehicle:<id>`` value: what the vehicle's record sets (so ``last_service`` is kept), the shown fields, the changes."""
    shown = {"id": v.id, "name": v.name, "fleet_id": v.fleet_id, "owner": v.owner, "active": v.active,
             "speed_limit_kmh": v.speed_limit_kmh}
    return {**v.model_dump(mode="json", exclude_unset=True), **shown, **changes}


@dataclass(frozen=True)
class RegistryView:
    """Vehicles and geofences by id, and what the flows would refuse (file items, topic records); fleets by id."""

    vehicles: Mapping[str, Vehicle]
    geofences: Mapping[str, Geofence]
    problems: tuple[str, ...] = ()
    fleets: Mapping[str, Fleet] = field(default_factory=dict)

    def fleet_of(self) -> dict[str, str | None]:
        """Vehicle id -> fleet id, for ``Scope.allows`` / ``Scope.sees_geofence``."""
        return {vid: v.fleet_id for vid, v in self.vehicles.items()}


def overlay(files: RegistryView, records: Mapping[str, bytes | None]) -> RegistryView:
    """The files' registry after the latest ``fleet.config`` record per key (None = deleted)."""
    applied, problems = apply_changes(Registry(fleets=dict(files.fleets), vehicles=dict(files.vehicles), geofences=dict(files.geofences)),
                                      records, FLEET_CONFIG)
    return RegistryView(applied.vehicles, applied.geofences, files.problems + tuple(problems), applied.fleets)


def read_registry(vehicles_file: Path, geofences_file: Path) -> RegistryView:
    """The registry of the config files (no live overlay)."""
    registry, problems = read_registry_items(vehicles_file, geofences_file)
    return RegistryView(registry.vehicles, registry.geofences, tuple(problems), registry.fleets)


def live_registry(vehicles_file: Path, geofences_file: Path, kafka_conf: dict[str, str], topic: str = FLEET_CONFIG,
                  timeout_s: float = READ_TIMEOUT_S) -> RegistryView:
    """Files overlaid with the topic read to its current end, now (raises when Kafka does not answer)."""
    return overlay(read_registry(vehicles_file, geofences_file), latest_records(kafka_conf, topic, timeout_s))
