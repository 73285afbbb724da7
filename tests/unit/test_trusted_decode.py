"""``from_avro_record`` trusts the telemetry topic (the ingest validated every record once, at
the edge) and builds the record without validating it again: it must still be the very same
``Telemetry`` the ingest validated - equal, same JSON, same hash and pickle, nested models included."""

from __future__ import annotations

import pickle

from hypothesis import given, settings

from contracts.avro import decode, encode
from contracts.telemetry import Accel, Telemetry, Wheels, from_avro_record, to_avro_record
from tests.unit.test_line_protocol import fixes


@settings(max_examples=200, deadline=None)
@given(fixes)
def test_the_decoded_record_is_the_validated_one(fix: Telemetry) -> None:
    back = from_avro_record(decode("telemetry", encode("telemetry", to_avro_record(fix)), 2))
    assert back == fix
    assert back.model_dump_json() == fix.model_dump_json()  # same field order: dead letters carry this JSON
    assert hash(back) == hash(fix) and pickle.loads(pickle.dumps(back)) == fix  # recovery snapshots pickle state
    assert type(back.dtc) is tuple and back.model_copy(update={"speed_kmh": 1.0}).speed_kmh == 1.0
    if fix.tire_pressure_kpa is not None:
        assert isinstance(back.tire_pressure_kpa, Wheels) and back.tire_pressure_kpa == fix.tire_pressure_kpa
    if fix.accel_ms2 is not None:
        assert isinstance(back.accel_ms2, Accel) and back.accel_ms2 == fix.accel_ms2


def test_a_field_the_record_lacks_takes_the_models_default() -> None:
    rec = decode("telemetry", encode("telemetry", to_avro_record(Telemetry.model_validate(
        {"vehicle_id": "v1", "ts_ms": 1, "lat": 0.0, "lon": 0.0, "speed_kmh": 0.0}))), 2)
    del rec["alarm"], rec["dtc"]
    t = from_avro_record(rec)
    assert (t.alarm, t.dtc, t.received_at_ms) == (None, (), 0)
