"""A scripted OBD device: explicit positions, speeds and event times for the demo scenarios.

The random simulator (vehicles.py) shows a living fleet; scenarios need the opposite - every
fix placed by hand so a rule fires exactly when the script says. ``Device`` keeps the
position, speed and clock of one vehicle and records ``Message`` s; speed changes are ramps
(8 km/h per second by default, 2.2 m/s^2, under every harsh threshold) so only the manoeuvre
a scenario is about can raise a harsh-driving alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from simulators.vehicles import bearing_and_distance, offset

GENTLE_KMH_PER_S = 8.0


@dataclass(frozen=True)
class Message:
    """One MQTT message: published at ``at_ms`` (same clock as event time; later than ``ts_ms``
    when the device buffered it), on ``topic``, with the JSON ``payload`` of the contract."""

    at_ms: int
    ts_ms: int
    topic: str
    payload: dict[str, Any]

    def shifted(self, delta_ms: int) -> Message:
        """The same message ``delta_ms`` later (event time and publish time)."""
        payload = {**self.payload, "ts": iso(self.ts_ms + delta_ms)}
        return Message(self.at_ms + delta_ms, self.ts_ms + delta_ms, self.topic, payload)


def iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Device:
    """One vehicle's scripted telemetry. Engine-on fixes carry healthy OBD values unless overridden."""

    def __init__(self, vehicle_id: str, start_ms: int, lat: float, lon: float, *, accelerometer: bool = False) -> None:
        self.vehicle_id = vehicle_id
        self.t_ms = start_ms
        self.lat, self.lon = lat, lon
        self.speed_kmh = 0.0
        self.heading_deg = 90.0
        self.ignition = True
        self.accelerometer = accelerometer
        self.moved_m = 0.0  # distance driven, for trip expectations
        self.messages: list[Message] = []
        self._prev_speed = 0.0

    # -- one fix -----------------------------------------------------------------------------
    def payload(self, **fields: Any) -> dict[str, Any]:
        """The fix at the current time and place; ``fields`` override (None removes a field)."""
        on = self.ignition
        doc: dict[str, Any] = {
            "vehicle_id": self.vehicle_id, "ts": iso(self.t_ms), "lat": round(self.lat, 7), "lon": round(self.lon, 7),
            "speed_kmh": round(self.speed_kmh, 1), "heading_deg": round(self.heading_deg % 360, 1), "ignition": on,
            "rpm": (750.0 if self.speed_kmh == 0 else min(3200.0, 900.0 + 18 * self.speed_kmh)) if on else 0.0,
            "coolant_temp_c": 90.0 if on else 60.0, "battery_v": 14.1 if on else 12.6, "oil_life_pct": 60.0,
            "tire_pressure_kpa": {"fl": 230.0, "fr": 230.0, "rl": 230.0, "rr": 230.0},
        }
        if self.accelerometer:
            doc["accel_ms2"] = {"x": round((self.speed_kmh - self._prev_speed) / 3.6, 2), "y": 0.2, "z": 9.81}
        doc.update(fields)
        return {k: v for k, v in doc.items() if v is not None}

    def emit(self, delay_s: float = 0.0, **fields: Any) -> Message:
        """Record the fix now; the device publishes it ``delay_s`` later (buffering)."""
        msg = Message(self.t_ms + int(delay_s * 1000), self.t_ms, f"fleet/{self.vehicle_id}/telemetry", self.payload(**fields))
        self.messages.append(msg)
        return msg

    def _advance(self, dt_s: float) -> None:
        moved = self.speed_kmh / 3.6 * dt_s
        self.lat, self.lon = offset(self.lat, self.lon, moved * math.cos(math.radians(self.heading_deg)),
                                   moved * math.sin(math.radians(self.heading_deg)))
        self.moved_m += moved
        self.t_ms += int(dt_s * 1000)

    def step(self, speed_kmh: float, dt_s: float = 1.0, **fields: Any) -> Message:
        """Drive ``dt_s`` seconds ending at ``speed_kmh`` and emit the fix."""
        self._prev_speed, self.speed_kmh = self.speed_kmh, speed_kmh
        self._advance(dt_s)
        msg = self.emit(**fields)
        self._prev_speed = self.speed_kmh
        return msg

    # -- manoeuvres --------------------------------------------------------------------------
    def wait(self, seconds: float, every_s: float = 10.0, **fields: Any) -> None:
        """Stand still for ``seconds``, a fix every ``every_s``."""
        for _ in range(int(round(seconds / every_s))):
            self.step(0.0, every_s, **fields)

    def ramp(self, to_kmh: float, kmh_per_s: float = GENTLE_KMH_PER_S, **fields: Any) -> None:
        """Change speed at ``kmh_per_s``, one fix per second."""
        while abs(self.speed_kmh - to_kmh) > 1e-9:
            delta = max(-kmh_per_s, min(kmh_per_s, to_kmh - self.speed_kmh))
            self.step(self.speed_kmh + delta, 1.0, **fields)

    def cruise(self, seconds: float, **fields: Any) -> None:
        for _ in range(int(seconds)):
            self.step(self.speed_kmh, 1.0, **fields)

    def switch(self, ignition: bool) -> None:
        self.ignition = ignition

    def drive_to(self, lat: float, lon: float, kmh: float, kmh_per_s: float = GENTLE_KMH_PER_S) -> None:
        """Start, drive straight to (lat, lon) at ``kmh`` and stop there, gently."""
        self.heading_deg, dist = bearing_and_distance(self.lat, self.lon, lat, lon)
        v = kmh / 3.6
        ramp_m = v * v / (2 * kmh_per_s / 3.6)  # distance of one full ramp
        start_m = self.moved_m
        self.ramp(kmh, kmh_per_s)
        while dist - (self.moved_m - start_m) > ramp_m + v:
            self.heading_deg, _ = bearing_and_distance(self.lat, self.lon, lat, lon)
            self.cruise(1)
        self.ramp(0.0, kmh_per_s)

