"""InfluxDB points of the fleet bucket, as documented in docs/measurements.md."""

from __future__ import annotations

from influxdb_client import Point, WritePrecision

from contracts.telemetry import Telemetry

_SCALARS = ("heading_deg", "altitude_m", "rpm", "engine_load_pct", "coolant_temp_c", "fuel_level_pct",
            "battery_v", "odometer_km", "engine_hours", "oil_life_pct")


def telemetry_point(t: Telemetry, fleet_id: str | None = None) -> Point:
    """Measurement ``telemetry``: one point per fix at its event time; absent fields stay absent."""
    p = Point("telemetry").tag("vehicle_id", t.vehicle_id).time(t.ts_ms, WritePrecision.MS)
    if fleet_id:
        p.tag("fleet_id", fleet_id)
    p.field("lat", float(t.lat)).field("lon", float(t.lon)).field("speed_kmh", float(t.speed_kmh))
    for name in _SCALARS:
        value = getattr(t, name)
        if value is not None:
            p.field(name, float(value))
    if t.ignition is not None:
        p.field("ignition", t.ignition)
    if t.tire_pressure_kpa is not None:
        for wheel in ("fl", "fr", "rl", "rr"):
            value = getattr(t.tire_pressure_kpa, wheel)
            if value is not None:
                p.field(f"tire_{wheel}_kpa", float(value))
    if t.accel_ms2 is not None:
        for axis in ("x", "y", "z"):
            value = getattr(t.accel_ms2, axis)
            if value is not None:
                p.field(f"accel_{axis}_ms2", float(value))
    if t.dtc:
        p.field("dtc", ",".join(t.dtc))
    return p
