"""The vehicle health record (InfluxDB ``health``) and the service forecast it carries.

``rules.fleet.health`` rates a vehicle into one ``HealthReport``; ``rules.fleet.maintenance``
forecasts the ``ServiceForecast`` of each maintenance rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

from contracts.alert import Severity

Status = Literal["ok", "attention", "critical"]


@dataclass(frozen=True)
class ServiceForecast:
    """When a maintenance rule falls due for one vehicle."""

    rule_id: str
    name: str
    due_date: date | None  # None when no criterion can be dated (no usage yet)
    due_by: str | None  # "km", "engine_hours" or "months"
    remaining_km: float | None
    remaining_engine_hours: float | None
    overdue: bool
    suggestion: str


@dataclass(frozen=True)
class Issue:
    """One reason for a status below ``ok``, with what to do about it."""

    code: str  # alert type or "dtc:P0301" or "service:<rule id>"
    severity: Severity
    message: str
    suggestion: str


@dataclass(frozen=True)
class HealthReport:
    """A vehicle's status at ``ts`` (epoch ms UTC), its issues and the next service due."""

    vehicle_id: str
    ts: int
    status: Status
    issues: tuple[Issue, ...] = ()
    next_service: ServiceForecast | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
