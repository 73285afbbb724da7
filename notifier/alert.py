"""An alert as the notifier sees it: a JSON dict from ``fleet.alerts``, checked only for what
routing and dedupe need, so new fields added by the flows pass through untouched."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


class InvalidAlert(ValueError):
    """A record the notifier cannot route (not JSON, not an object, no id or vehicle)."""


def parse_alert(value: bytes | None) -> dict[str, Any]:
    """Decode a ``fleet.alerts`` value; raise InvalidAlert saying what is wrong."""
    if value is None:
        raise InvalidAlert("empty record (tombstone)")
    try:
        doc = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidAlert(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidAlert("not a JSON object")
    for key in ("alert_id", "vehicle_id", "type"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise InvalidAlert(f"{key}: missing or not a non-empty string")
    return doc


RAISED = "raised"
INCIDENT_STATES = ("raised", "escalated", "cleared")  # contracts/alert.py


def notice_key(alert: Mapping[str, Any]) -> str:
    """What a recipient is told once: an incident's raise, its escalation, its clear.

    The raise's key is its ``incident_id`` (= the raising record's ``alert_id``, so delivery logs
    written before incidents existed still match); an escalation or a clear is
    ``<incident_id>/<state>``. Two records of the same incident and state (a second escalation
    a rule should never emit, a re-raise under another id) therefore give one message, and a
    record without ``state`` / ``incident_id`` (older producers) is a raise of its own."""
    alert_id = str(alert["alert_id"])
    incident = alert.get("incident_id")
    incident_id = incident if isinstance(incident, str) and incident else alert_id
    state = alert.get("state") or RAISED
    if state not in INCIDENT_STATES:
        return alert_id  # unknown state: the record on its own
    return incident_id if state == RAISED else f"{incident_id}/{state}"


def severity_rank(severity: object) -> int:
    """Rank of a severity; an unknown one ranks highest so a filter never silences it."""
    return SEVERITY_RANK.get(severity, max(SEVERITY_RANK.values())) if isinstance(severity, str) else max(SEVERITY_RANK.values())
