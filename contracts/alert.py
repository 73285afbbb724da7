"""The alert record published to ``fleet.alerts`` and the list of alert types.

``alert_id`` is a hash of what identifies the episode (vehicle, type, the event time the
episode started, geofence, code), never of processing time or a counter: a replay of the
same telemetry yields the same ids, so the notifier and sinks can deduplicate on it.

Alerts are records of *incidents*: ``incident_id`` names the incident (the ``alert_id`` of the
record that raised it, so it is as deterministic), ``state`` says what the record does to it:
``raised``, ``escalated`` (warning -> critical, at most once) or ``cleared``. A record written
before these fields existed reads as ``raised`` with ``incident_id = alert_id`` (``from_dict``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
IncidentState = Literal["raised", "escalated", "cleared"]
INCIDENT_STATES: tuple[IncidentState, ...] = ("raised", "escalated", "cleared")

# Alert types (see docs/alerts.md for value / threshold meaning and examples).
OVERSPEED = "overspeed"  # above the effective limit for the minimal duration (episode start)
OVERSPEED_END = "overspeed_end"  # closing record of an alerted overspeed episode
HARSH_BRAKING = "harsh_braking"
HARSH_ACCELERATION = "harsh_acceleration"
HARSH_CORNERING = "harsh_cornering"
GEOFENCE_ENTER = "geofence_enter"
GEOFENCE_EXIT = "geofence_exit"
GEOFENCE_OUTSIDE_ALLOWED = "geofence_outside_allowed"  # outside an allowed zone while its schedule is active
GEOFENCE_INSIDE_FORBIDDEN = "geofence_inside_forbidden"  # inside a forbidden zone while its schedule is active
IDLE = "idle"
DEVICE_OFFLINE = "device_offline"
DEVICE_ONLINE = "device_online"
COOLANT_HIGH = "coolant_high"
BATTERY_LOW = "battery_low"  # engine off
CHARGING_FAULT = "charging_fault"  # engine running, voltage out of the charging band
TIRE_PRESSURE_LOW = "tire_pressure_low"
TIRE_PRESSURE_HIGH = "tire_pressure_high"
OIL_LIFE_LOW = "oil_life_low"
RPM_HIGH = "rpm_high"
DTC = "dtc"
FUEL_DROP = "fuel_drop"
REFUEL = "refuel"
MAINTENANCE_DUE = "maintenance_due"  # repeated every period until a service is recorded
MOTION_STARTED = "motion_started"  # Traccar "moving": a trip's motion confirmed
MOTION_STOPPED = "motion_stopped"  # Traccar "stopped": that motion ended
IGNITION_ON = "ignition_on"
IGNITION_OFF = "ignition_off"
DEVICE_ALARM = "device_alarm"  # the tracker's own alarm (sos, tow, power_cut, ...); details.kind

ALERT_TYPES: tuple[str, ...] = (
    OVERSPEED, OVERSPEED_END, HARSH_BRAKING, HARSH_ACCELERATION, HARSH_CORNERING,
    GEOFENCE_ENTER, GEOFENCE_EXIT, GEOFENCE_OUTSIDE_ALLOWED, GEOFENCE_INSIDE_FORBIDDEN,
    IDLE, DEVICE_OFFLINE, DEVICE_ONLINE, COOLANT_HIGH, BATTERY_LOW, CHARGING_FAULT,
    TIRE_PRESSURE_LOW, TIRE_PRESSURE_HIGH, OIL_LIFE_LOW, RPM_HIGH, DTC, FUEL_DROP, REFUEL,
    MAINTENANCE_DUE, MOTION_STARTED, MOTION_STOPPED, IGNITION_ON, IGNITION_OFF, DEVICE_ALARM,
)


# Types that only ever clear another type's incident (overspeed -> overspeed_end, device_offline ->
# device_online); the other rules clear with a record of the incident's own type.
CLOSING_TYPES: frozenset[str] = frozenset({OVERSPEED_END, DEVICE_ONLINE})


def make_alert_id(vehicle_id: str, type_: str, episode_ts: int, *parts: str | None) -> str:
    """Deterministic id: same vehicle, type, episode start and qualifiers -> same id."""
    key = "|".join(["v1", vehicle_id, type_, str(int(episode_ts)), *("" if p is None else str(p) for p in parts)])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Alert:
    """One alert; ``ts`` is event time (epoch ms UTC) of the fix that confirmed it."""

    alert_id: str
    vehicle_id: str
    fleet_id: str | None
    type: str
    severity: Severity
    ts: int
    value: float | None
    threshold: float | None
    lat: float | None
    lon: float | None
    message: str
    geofence_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    state: IncidentState = "raised"
    incident_id: str = ""  # empty = this record raised its incident: set to alert_id
    place: str | None = None  # "City, Region, CC" of lat/lon (rules.fleet.places); not part of alert_id

    def __post_init__(self) -> None:
        if self.type not in ALERT_TYPES:
            raise ValueError(f"unknown alert type {self.type!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.state not in INCIDENT_STATES:
            raise ValueError(f"unknown incident state {self.state!r}")
        if not self.incident_id:
            object.__setattr__(self, "incident_id", self.alert_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Alert:
        """A ``fleet.alerts`` record back to an Alert; records older than the incident fields
        read as ``raised`` incidents of their own; unknown keys are ignored."""
        known = {f: doc[f] for f in cls.__dataclass_fields__ if f in doc}
        known["incident_id"] = known.get("incident_id") or ""
        known["state"] = known.get("state") or "raised"
        return cls(**known)

    def to_json(self) -> str:
        """Compact JSON with sorted keys, the value of a ``fleet.alerts`` record."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)


def make_alert(
    *,
    vehicle_id: str,
    fleet_id: str | None,
    type: str,
    severity: Severity,
    ts: int,
    episode_ts: int,
    message: str,
    value: float | None = None,
    threshold: float | None = None,
    lat: float | None = None,
    lon: float | None = None,
    geofence_id: str | None = None,
    id_parts: tuple[str | None, ...] = (),
    details: dict[str, Any] | None = None,
    state: IncidentState = "raised",
    incident_id: str | None = None,
) -> Alert:
    """Build an alert whose id derives from (vehicle, type, episode_ts, geofence, id_parts);
    ``incident_id`` None = it raises its own incident."""
    return Alert(
        alert_id=make_alert_id(vehicle_id, type, episode_ts, geofence_id, *id_parts),
        vehicle_id=vehicle_id,
        fleet_id=fleet_id,
        type=type,
        severity=severity,
        ts=int(ts),
        value=None if value is None else round(float(value), 3),
        threshold=None if threshold is None else round(float(threshold), 3),
        lat=lat,
        lon=lon,
        message=message,
        geofence_id=geofence_id,
        details=dict(details or {}),
        state=state,
        incident_id=incident_id or "",
    )
