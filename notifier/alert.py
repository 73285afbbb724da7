"""An alert as the notifier sees it: a JSON dict from ``fleet.alerts``, checked only for what
routing and dedupe need, so new fields added by the flows pass through untouched."""

from __future__ import annotations

import json
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


def severity_rank(severity: object) -> int:
    """Rank of a severity; an unknown one ranks highest so a filter never silences it."""
    return SEVERITY_RANK.get(severity, max(SEVERITY_RANK.values())) if isinstance(severity, str) else max(SEVERITY_RANK.values())
