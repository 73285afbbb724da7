"""Acknowledgements on the compacted topic ``fleet.acks``: publish one, read the latest per incident.

A publish waits for the broker's acknowledgement and raises on failure, so the page never says
"acknowledged" for a record that was lost; every dashboard reads the topic (cached a few
seconds), so an acknowledgement is visible to the other users at their next refresh. The topic
is ``DASHBOARD_ACKS_TOPIC`` (default ``fleet.acks``), so a test run uses its own.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from contracts.ack import Ack, InvalidAck, parse_ack
from dashboard.config import load_dashboard_settings
from settings.stack import load_stack_settings
from settings.topics import FLEET_ACKS
from sinks.kafka_producer import make_producer
from sources.kafka_table import read_to_end


class AckError(RuntimeError):
    """The acknowledgement was not stored by Kafka."""


def _keep(acks: dict[str, Ack], key: str, value: bytes | None) -> dict[str, Ack]:
    try:
        ack = parse_ack(value)
    except InvalidAck:
        acks.pop(key, None)  # a tombstone or a bad record withdraws the acknowledgement
        return acks
    acks[ack.incident_id] = ack
    return acks


def read_acks(kafka_conf: dict[str, str], topic: str = FLEET_ACKS, timeout_s: float = 5.0) -> dict[str, Ack]:
    """Latest acknowledgement per incident, read from the beginning to the topic's current end."""
    acks: dict[str, Ack] = read_to_end(kafka_conf, topic, {}, _keep, timeout_s)
    return dict(acks)


@st.cache_data(ttl=5.0, show_spinner=False)
def _cached_acks(topic: str) -> dict[str, Ack]:
    return read_acks(load_stack_settings().kafka_config(), topic)


def cached_acks() -> dict[str, Ack]:
    """``read_acks`` of the configured acknowledgements topic, shared for a few seconds."""
    return _cached_acks(load_dashboard_settings().acks_topic)


def acknowledge(incident_id: str, vehicle_id: str, by: str, note: str = "", topic: str | None = None,
                kafka_conf: dict[str, str] | None = None, timeout_s: float = 10.0, now_ms: int | None = None) -> Ack:
    """Publish the acknowledgement of one incident and wait until Kafka has it (``topic`` None =
    the configured ``DASHBOARD_ACKS_TOPIC``)."""
    topic = topic if topic is not None else load_dashboard_settings().acks_topic
    ack = Ack(incident_id, vehicle_id, by, now_ms if now_ms is not None else int(time.time() * 1000), note)
    producer = make_producer(kafka_conf if kafka_conf is not None else load_stack_settings().kafka_config())
    errors: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    producer.produce(topic, key=incident_id.encode("utf-8"), value=ack.to_json(), on_delivery=on_delivery)
    if producer.flush(timeout_s):
        errors.append(f"not acknowledged by Kafka within {timeout_s} s")
    if errors:
        raise AckError("; ".join(errors))
    _cached_acks.clear()
    return ack
