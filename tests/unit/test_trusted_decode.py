"""``from_avro_record`` trusts the telemetry topic (the ingest validated every record once, at
the edge) and builds the record without validating it again: it must still be the very same
``Telemetry`` the ingest validated - equal, same dump, same hash and pickle, nested models included."""

from __future__ import annotations

import pickle

from hypothesis import given, settings

from contracts.avro import decode, encode, load_schema
from contracts.telemetry import Accel, Telemetry, Wheels, from_avro_record, to_avro_record
from tests.unit.test_line_protocol import fixes


@settings(max_examples=200, deadline=None)
@given(fixes)
def test_the_decoded_record_is_the_validated_one(fix: Telemetry) -> None:
    back = from_avro_record(decode("telemetry", encode("telemetry", to_avro_record(fix)), 2))
    assert back == fix and back.model_dump() == fix.model_dump()
    assert hash(back) == hash(fix) and pickle.loads(pickle.dumps(back)) == fix  # recovery snapshots pickle state
    assert type(back.dtc) is tuple and back.model_copy(update={"speed_kmh": 1.0}).speed_kmh == 1.0
    if fix.tire_pressure_kpa is not None:
        assert isinstance(back.tire_pressure_kpa, Wheels) and back.tire_pressure_kpa == fix.tire_pressure_kpa
    if fix.accel_ms2 is not None:
        assert isinstance(back.accel_ms2, Accel) and back.accel_ms2 == fix.accel_ms2


def test_the_avro_schema_has_exactly_the_models_fields() -> None:
    """What lets the decode skip validation without losing a field: the reader fills every one."""
    schema = load_schema("telemetry")
    assert {f["name"] for f in schema["fields"]} == set(Telemetry.model_fields)
    nested = {t["name"].rsplit(".", 1)[-1]: t for f in schema["fields"] if isinstance(f["type"], list)
              for t in f["type"] if isinstance(t, dict)}
    for model in (Wheels, Accel):
        assert {f["name"] for f in nested[model.__name__]["fields"]} == set(model.model_fields)
