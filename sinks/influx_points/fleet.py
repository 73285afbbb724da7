"""InfluxDB points of the fleet bucket, as documented in docs/measurements.md.

The telemetry point is written for every fix, so it has a hand-built line-protocol form
(``telemetry_line``, 2-3x cheaper than an ``influxdb_client.Point``: bench/fleet_stages.py); both render the same
field layout and give the same line (tests/unit/test_line_protocol.py)."""

from __future__ import annotations

from influxdb_client import Point

from contracts.line_protocol import escape_tag_value, float_field, string_field
from contracts.telemetry import Telemetry
from sinks.influx_points.fields import at_ms

_SCALARS = ("heading_deg", "altitude_m", "rpm", "engine_load_pct", "coolant_temp_c", "fuel_level_pct",
            "battery_v", "odometer_km", "engine_hours", "oil_life_pct")
# (field, attribute of Telemetry, attribute of the nested model or None), sorted by field as line protocol
# from a Point is. Every field is a float but ignition (bool) and dtc (string of comma-separated codes).
_LAYOUT: tuple[tuple[str, str, str | None], ...] = tuple(sorted(
    [(n, n, None) for n in ("lat", "lon", "speed_kmh", *_SCALARS, "ignition", "dtc")]
    + [(f"tire_{w}_kpa", "tire_pressure_kpa", w) for w in ("fl", "fr", "rl", "rr")]
    + [(f"accel_{a}_ms2", "accel_ms2", a) for a in ("x", "y", "z")]))
_FIELD_PREFIX = {name: name + "=" for name, _, _ in _LAYOUT}


def _fields(t: Telemetry) -> list[tuple[str, object]]:
    """(field, value) of the fix in line-protocol order; absent values left out."""
    d = t.__dict__
    out: list[tuple[str, object]] = []
    for name, attr, sub in _LAYOUT:
        value = d[attr]
        if sub is not None and value is not None:
            value = value.__dict__[sub]
        if value is None or value == ():
            continue
        out.append((name, value))
    return out


def telemetry_point(t: Telemetry, fleet_id: str | None = None) -> Point:
    """Measurement ``telemetry``: one point per fix at its event time; absent fields stay absent."""
    p = at_ms(Point("telemetry").tag("vehicle_id", t.vehicle_id), t.ts_ms)
    if fleet_id:
        p.tag("fleet_id", fleet_id)
    for name, value in _fields(t):
        if isinstance(value, tuple):
            value = ",".join(value)
        elif not isinstance(value, bool):
            value = float(value)  # type: ignore[arg-type]  # a number: _LAYOUT's other fields are floats
        p.field(name, value)
    return p


def telemetry_line(t: Telemetry, fleet_id: str | None = None) -> str:
    """``telemetry_point(t, fleet_id)`` as its line protocol (millisecond timestamp), built directly."""
    parts = []
    for name, value in _fields(t):
        if value is True or value is False:
            text = "true" if value else "false"
        elif isinstance(value, tuple):
            text = string_field(",".join(value))
        else:
            text = float_field(value)  # type: ignore[arg-type]
        parts.append(_FIELD_PREFIX[name] + text)
    tags = f"fleet_id={escape_tag_value(fleet_id)},vehicle_id=" if fleet_id else "vehicle_id="
    return f"telemetry,{tags}{escape_tag_value(t.vehicle_id)} {','.join(parts)} {t.ts_ms}"
