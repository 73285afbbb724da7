"""A rule that failed on one vehicle's fix or tick, as a record for the dead-letter topic.

The engine runs every rule isolated (Traccar style): when one raises, the others still run on
that fix, the failed rule keeps the state it had before it, and this record says which rule,
which vehicle, which fix and what went wrong - a bug or a bad value hits one rule of one fix,
never the whole flow. A fix whose vehicle left the registry while it was in flight gets one too
(``rule="registry"``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from contracts.deadletter import DeadLetter
from contracts.telemetry import Telemetry

NOT_IN_REGISTRY = "vehicle not in registry"


@dataclass(frozen=True)
class RuleError:
    """``ts`` is the fix's event time, or the tick's time when no fix was involved."""

    rule: str
    vehicle_id: str
    ts: int
    error_type: str
    message: str
    received_at_ms: int
    fix: Telemetry | None = None

    @classmethod
    def of(cls, rule: str, vehicle_id: str, ts: int, received_at_ms: int, exc: BaseException,
           fix: Telemetry | None = None) -> RuleError:
        """The record of ``exc`` raised by ``rule``."""
        return cls(rule, vehicle_id, ts, type(exc).__name__, str(exc), received_at_ms, fix)

    @classmethod
    def not_in_registry(cls, fix: Telemetry, received_at_ms: int) -> RuleError:
        """A fix that passed the flow's registry check, but its vehicle was deleted before the rules ran."""
        return cls("registry", fix.vehicle_id, fix.ts_ms, "unknown_vehicle", NOT_IN_REGISTRY, received_at_ms, fix)

    @property
    def reason(self) -> str:
        return f"rule_error: {self.rule}: {self.error_type}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "vehicle_id": self.vehicle_id, "ts": self.ts, "error_type": self.error_type,
                "message": self.message, "reason": self.reason, "received_at_ms": self.received_at_ms,
                "fix": None if self.fix is None else self.fix.model_dump(mode="json")}

    def to_json(self) -> str:
        """Compact JSON with sorted keys (logs, tests)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    def dead_letter(self, source_topic: str) -> DeadLetter:
        """The dead-letter record: the fix as its payload (so it can be fed again once fixed),
        or this record's JSON when the error happened on a tick (no input to keep)."""
        payload = self.fix.model_dump_json() if self.fix is not None else self.to_json()
        return DeadLetter(self.reason, source_topic, payload.encode(), self.received_at_ms)
