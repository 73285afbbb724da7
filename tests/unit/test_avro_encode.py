"""``contracts.avro.encode`` names the branch of every ``["null", X]`` union (fastavro's tuple
notation) so fastavro does not try each branch per record: the bytes must be exactly what
fastavro writes when it resolves the unions itself, and a value that fits no branch must still
be refused."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings

from contracts.avro import decode, encode, load_schema
from contracts.telemetry import Telemetry, to_avro_record
from tests.unit.test_line_protocol import fixes


def resolved_by_fastavro(record: dict[str, Any]) -> bytes:
    """The bytes of the plain fastavro call ``encode`` made before it named the branches."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, load_schema("telemetry"), record)
    return buf.getvalue()


@settings(max_examples=300, deadline=None)
@given(fixes)
def test_same_bytes_as_fastavro_resolving_the_unions(fix: Telemetry) -> None:
    record = to_avro_record(fix)
    assert encode("telemetry", record) == resolved_by_fastavro(record)
    assert decode("telemetry", encode("telemetry", record), 2) == record


def test_every_optional_field_set_and_missing_fields_take_their_defaults() -> None:
    full = {"vehicle_id": "v1", "ts_ms": 1, "received_at_ms": 2, "lat": 52.5, "lon": 13.4, "speed_kmh": 3,
            "heading_deg": 1.5, "altitude_m": 2.5, "ignition": False, "rpm": 800, "engine_load_pct": 1.0,
            "coolant_temp_c": -4.0, "fuel_level_pct": 0.0, "battery_v": 12.1, "odometer_km": 5.0,
            "engine_hours": 6.0, "oil_life_pct": 7.0, "tire_pressure_kpa": {"fl": 1.0, "fr": None, "rl": 3.0, "rr": 4},
            "accel_ms2": {"x": 0.0, "y": None, "z": 9.8}, "dtc": ["P0301"], "alarm": "sos", "hdop": 1.0,
            "accuracy_m": 3.0}
    assert encode("telemetry", full) == resolved_by_fastavro(full)
    minimal = {k: full[k] for k in ("vehicle_id", "ts_ms", "received_at_ms", "lat", "lon", "speed_kmh")}
    assert encode("telemetry", minimal) == resolved_by_fastavro(minimal)
    assert decode("telemetry", encode("telemetry", minimal))["tire_pressure_kpa"] is None
    assert full["tire_pressure_kpa"] == {"fl": 1.0, "fr": None, "rl": 3.0, "rr": 4}  # the caller's dict untouched


@pytest.mark.parametrize(("field", "value"), [("rpm", "fast"), ("alarm", 7), ("ignition", 1),
                                              ("tire_pressure_kpa", {"fl": "low"}), ("speed_kmh", None)])
def test_a_value_that_fits_no_branch_is_refused(field: str, value: Any) -> None:
    record = {"vehicle_id": "v1", "ts_ms": 1, "received_at_ms": 2, "lat": 52.5, "lon": 13.4, "speed_kmh": 3.0,
              field: value}
    with pytest.raises((TypeError, ValueError, AttributeError)):
        resolved_by_fastavro(record)
    with pytest.raises((TypeError, ValueError, AttributeError)):
        encode("telemetry", record)
