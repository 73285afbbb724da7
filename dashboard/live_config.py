"""The compacted Kafka topic ``fleet.config``: read its latest record per key, publish changes.

The fleet flows follow this topic for live registry changes (``sources/kafka_table.py``); the
dashboard reads it with the same table, once to its end, and applies the records with the
flows' ``apply_change`` (``dashboard/registry.py``). A change is checked with that same parser
before it is sent, and a publish waits for the broker's acknowledgement and raises on failure,
so the page never says "published" for a change that was refused or lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import streamlit as st

from rules.fleet.geofence_shapes import GeofenceError
from rules.fleet.registry import Registry, RegistryError, apply_change
from settings.stack import load_stack_settings
from settings.topics import FLEET_CONFIG
from sinks.kafka_producer import make_producer
from sources.kafka_table import read_to_end

READ_TIMEOUT_S = 5.0


class PublishError(RuntimeError):
    """A record was not acknowledged by Kafka."""


def vehicle_key(vehicle_id: str) -> str:
    return f"vehicle:{vehicle_id}"


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


@st.cache_data(ttl=5.0, show_spinner=False)
def cached_records() -> dict[str, bytes | None]:
    """``latest_records`` of the stack's fleet.config, shared for a few seconds."""
    return latest_records(load_stack_settings().kafka_config())


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


def publish(records: Iterable[tuple[str, dict[str, Any] | None]], topic: str = FLEET_CONFIG,
            kafka_conf: dict[str, str] | None = None, timeout_s: float = 10.0) -> int:
    """Check, send ``(key, value)`` records (None = delete) and wait for every acknowledgement."""
    records = list(records)
    refused = refusals(records)
    if refused:
        raise PublishError("refused, nothing published: " + "; ".join(refused))
    producer = make_producer(kafka_conf if kafka_conf is not None else load_stack_settings().kafka_config())
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
    cached_records.clear()
    return sent
