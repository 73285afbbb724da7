"""The trip record published to ``fleet.trips`` and written to InfluxDB (``trips``).

``rules.fleet.trips`` builds it; ``trip_id`` derives from the vehicle and the trip's start
(``contracts.alert.make_alert_id``), so a replay yields the same ids.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Trip:
    """A finished trip, as written to InfluxDB and shown in reports."""

    trip_id: str
    vehicle_id: str
    fleet_id: str | None
    start_ts: int
    end_ts: int
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float
    distance_km: float
    duration_s: float
    max_speed_kmh: float
    mean_speed_kmh: float
    idle_s: float
    events: dict[str, int] = field(default_factory=dict)
    safety_score: float = 100.0
    # "City, Region, CC" of the start and end (rules.fleet.places), set by the analytics flow's output step
    start_place: str | None = None
    end_place: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
