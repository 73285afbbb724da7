"""Acknowledgement of an incident, as ThingsBoard alarms have it: a record on the compacted
Kafka topic ``fleet.acks``, key = ``incident_id``, so the latest acknowledgement of an incident
is what every dashboard reads (docs/alerts.md, Acknowledgement)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


class InvalidAck(ValueError):
    """A ``fleet.acks`` value that is not an acknowledgement; the message says why."""


@dataclass(frozen=True)
class Ack:
    incident_id: str  # the alert_id that raised the incident (contracts/alert.py)
    vehicle_id: str
    by: str  # the dashboard user who acknowledged it
    ack_ts_ms: int  # wall clock of the acknowledgement, epoch ms UTC
    note: str = ""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode("utf-8")


def parse_ack(value: bytes | None) -> Ack:
    """Decode a ``fleet.acks`` value; raise InvalidAck naming the problem."""
    if value is None:
        raise InvalidAck("empty record (tombstone)")
    try:
        doc: Any = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidAck(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidAck("not a JSON object")
    for key in ("incident_id", "vehicle_id", "by"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise InvalidAck(f"{key}: missing or not a non-empty string")
    ts = doc.get("ack_ts_ms")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts <= 0:
        raise InvalidAck("ack_ts_ms: missing or not a positive integer (epoch ms)")
    note = doc.get("note", "")
    if not isinstance(note, str) or len(note) > 500:
        raise InvalidAck("note: not a string of at most 500 characters")
    return Ack(doc["incident_id"], doc["vehicle_id"], doc["by"], ts, note)
