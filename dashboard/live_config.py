"""The compacted Kafka topic ``fleet.config``: read its latest record per key, publish changes.

The fleet flows read this topic for live registry changes; the admin page writes to it.
A publish waits for the broker's acknowledgement and raises on failure, so the page never
says "published" for a change that was lost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

import streamlit as st
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from settings.stack import load_stack_settings
from settings.topics import FLEET_CONFIG

READ_TIMEOUT_S = 5.0


class PublishError(RuntimeError):
    """A record was not acknowledged by Kafka."""


def vehicle_key(vehicle_id: str) -> str:
    return f"vehicle:{vehicle_id}"


def geofence_key(geofence_id: str) -> str:
    return f"geofence:{geofence_id}"


def read_latest(kafka_conf: dict[str, str], topic: str = FLEET_CONFIG, timeout_s: float = READ_TIMEOUT_S) -> dict[str, Any]:
    """Latest value per key (None = tombstone) from the beginning up to the current end of the topic."""
    consumer = Consumer({**kafka_conf, "group.id": f"dashboard-{uuid.uuid4().hex}", "enable.auto.commit": False,
                         "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if meta is None or meta.error is not None:
            return {}
        ends: dict[int, int] = {}
        for pid in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, pid), timeout=timeout_s)
            if high > low:
                ends[pid] = high
        if not ends:
            return {}
        consumer.assign([TopicPartition(topic, pid, OFFSET_BEGINNING) for pid in ends])
        latest: dict[str, Any] = {}
        pending = dict(ends)
        while pending:
            msg = consumer.poll(timeout_s)
            if msg is None:
                raise TimeoutError(f"{topic}: no record within {timeout_s} s")
            if msg.error():
                if msg.error().code() == -191:  # _PARTITION_EOF
                    pending.pop(msg.partition(), None)
                    continue
                raise KafkaException(msg.error())
            if msg.key() is not None:
                raw = msg.value()
                try:
                    latest[msg.key().decode("utf-8")] = None if raw is None else json.loads(raw)
                except (UnicodeDecodeError, json.JSONDecodeError):
                    pass  # not ours to judge; the flows dead-letter malformed records
            if msg.offset() + 1 >= pending.get(msg.partition(), 0):
                pending.pop(msg.partition(), None)
        return latest
    finally:
        consumer.close()


@st.cache_data(ttl=5.0, show_spinner=False)
def cached_latest() -> dict[str, Any]:
    """``read_latest`` of the stack's fleet.config, shared for a few seconds."""
    return read_latest(load_stack_settings().kafka_config())


def refusals(records: Iterable[tuple[str, dict[str, Any] | None]]) -> list[str]:
    """Why the fleet flows would refuse each record, checked with their own parser.

    ``rules.fleet.registry.apply_change`` is what the flows run on every record of the topic;
    a record it refuses would be logged and ignored there, so the dashboard refuses it first.
    """
    try:
        from rules.fleet.registry import Registry, RegistryError, apply_change
    except ImportError:  # the flows' registry is not installed here: nothing to check against
        return []
    problems = []
    for key, value in records:
        if value is None:
            continue
        try:
            apply_change(Registry(), key, json.dumps(value))
        except RegistryError as exc:
            problems.append(str(exc))
    return problems


def publish(records: Iterable[tuple[str, dict[str, Any] | None]], topic: str = FLEET_CONFIG,
            kafka_conf: dict[str, str] | None = None, timeout_s: float = 10.0) -> int:
    """Check, send ``(key, value)`` records (None = delete) and wait for every acknowledgement."""
    records = list(records)
    refused = refusals(records)
    if refused:
        raise PublishError("refused, nothing published: " + "; ".join(refused))
    conf = kafka_conf if kafka_conf is not None else load_stack_settings().kafka_config()
    producer = Producer({**conf, "acks": "all", "enable.idempotence": True})
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
    cached_latest.clear()
    return sent
