"""The stop record published to ``fleet.stops`` (JSON) and written to InfluxDB (``stops``).

``rules.fleet.stops`` detects stops (Traccar semantics) both in the analytics flow, as fixes arrive,
and in reports over stored fixes, with the same code. ``stop_id`` derives from the vehicle and the
stop's start (``contracts.alert.make_alert_id``), so a replay, or the final record of a stop first
announced while it was still going on (``ongoing``), carries the same id: consumers keep the last
record per id and InfluxDB overwrites the point (same series, same time: the start).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .alert import make_alert_id


@dataclass(frozen=True)
class Stop:
    """Where and how long a vehicle stood; times are event times (epoch ms UTC)."""

    vehicle_id: str
    start_ts: int
    end_ts: int
    lat: float  # the stop's first fix
    lon: float
    idle_s: float  # time inside the stop with the engine on
    ignition_off: bool  # the ignition was reported off at some fix of the stop
    ongoing: bool = False  # still going on at ``end_ts`` (the last fix seen): a later record of the same id replaces it
    place: str | None = None  # "City, Region, CC" (rules.fleet.places), set by the analytics flow's output step
    fleet_id: str | None = None

    @property
    def stop_id(self) -> str:
        return make_alert_id(self.vehicle_id, "stop", self.start_ts)

    @property
    def duration_s(self) -> float:
        return (self.end_ts - self.start_ts) / 1000

    def to_dict(self) -> dict[str, Any]:
        """The Kafka record: the fields plus ``stop_id`` and ``duration_s``."""
        return {"stop_id": self.stop_id, **asdict(self), "duration_s": self.duration_s}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Stop:
        """A record of ``fleet.stops`` (``stop_id`` / ``duration_s`` are derived, so ignored)."""
        return cls(vehicle_id=str(d["vehicle_id"]), start_ts=int(d["start_ts"]), end_ts=int(d["end_ts"]), lat=float(d["lat"]),
                   lon=float(d["lon"]), idle_s=float(d.get("idle_s") or 0.0), ignition_off=bool(d.get("ignition_off")),
                   ongoing=bool(d.get("ongoing")), place=d.get("place"), fleet_id=d.get("fleet_id"))
