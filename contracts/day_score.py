"""A vehicle's safety score of one local day (InfluxDB ``safety_daily``); built by ``rules.fleet.scoring``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DayScore:
    """Totals of the trips that started on ``day`` and the score of those totals."""

    vehicle_id: str
    day: str  # local date, YYYY-MM-DD
    trips: int = 0
    distance_km: float = 0.0
    duration_s: float = 0.0
    idle_s: float = 0.0
    events: Mapping[str, int] = field(default_factory=dict)
    score: float = 100.0
