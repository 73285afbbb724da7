"""The optional ``alarm`` of the telemetry contract and the compatible Avro schema bump (v1 -> v2)."""

from __future__ import annotations

import io
import json

import fastavro
import pytest

from contracts.avro import SCHEMA_DIR, TELEMETRY_SCHEMA_HEADER, decode, encode, header_version
from contracts.telemetry import InvalidTelemetry, from_avro_record, parse_telemetry, to_avro_record

TOPIC = "fleet/v1/telemetry"
ARRIVED_MS = 1795600801000


def message(**over) -> bytes:
    return json.dumps({"vehicle_id": "v1", "ts": "2026-11-25T10:00:00Z", "lat": 52.5, "lon": 13.4, "speed_kmh": 0, **over}).encode()


def test_alarm_is_optional_and_kept_as_reported() -> None:
    assert parse_telemetry(TOPIC, message(), ARRIVED_MS).alarm is None
    assert parse_telemetry(TOPIC, message(alarm="powerCut"), ARRIVED_MS).alarm == "powerCut"


@pytest.mark.parametrize(("alarm", "fragment"), [
    ("", "at least 1 character"), (7, "valid string"), ("x" * 33, "at most 32"), ("sos;drop table", "pattern"),
])
def test_bad_alarm_is_refused_with_a_reason(alarm, fragment) -> None:
    with pytest.raises(InvalidTelemetry) as exc:
        parse_telemetry(TOPIC, message(alarm=alarm), ARRIVED_MS)
    assert exc.value.reason.startswith("alarm: ") and fragment in exc.value.reason


def test_alarm_round_trips_through_the_v2_schema() -> None:
    t = parse_telemetry(TOPIC, message(alarm="sos", dtc=["P0301"]), ARRIVED_MS)
    assert from_avro_record(decode("telemetry", encode("telemetry", to_avro_record(t)), 2)) == t
    assert header_version([TELEMETRY_SCHEMA_HEADER]) == 2 and header_version([]) is None


def test_a_record_written_with_the_v1_schema_decodes_with_the_new_reader() -> None:
    v1 = json.loads((SCHEMA_DIR / "telemetry.v1.avsc").read_text())
    assert "alarm" not in [f["name"] for f in v1["fields"]]
    old = {"vehicle_id": "v1", "ts_ms": 1795600800000, "received_at_ms": ARRIVED_MS, "lat": 52.5, "lon": 13.4,
           "speed_kmh": 12.0, "ignition": True, "dtc": ["P0420"]}
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(v1), old)
    rec = decode("telemetry", buf.getvalue(), header_version([("schema", b"ticktrack.fleet.Telemetry/1")]))
    assert rec["alarm"] is None and rec["dtc"] == ["P0420"] and rec["ignition"] is True
    t = from_avro_record(rec)
    assert (t.vehicle_id, t.speed_kmh, t.alarm) == ("v1", 12.0, None)
    with pytest.raises(EOFError):  # read as if v2 wrote it: the bytes end before the alarm
        decode("telemetry", buf.getvalue())


def test_unknown_schema_version_is_an_error() -> None:
    with pytest.raises(ValueError, match="no Avro schema telemetry version 9"):
        decode("telemetry", b"", 9)


def test_fix_accuracy_is_optional_bounded_and_round_trips() -> None:
    t = parse_telemetry(TOPIC, message(), ARRIVED_MS)
    assert (t.hdop, t.accuracy_m) == (None, None)
    t = parse_telemetry(TOPIC, message(hdop=1.2, accuracy_m=8), ARRIVED_MS)
    assert (t.hdop, t.accuracy_m) == (1.2, 8.0)
    assert from_avro_record(decode("telemetry", encode("telemetry", to_avro_record(t)), 2)) == t
    with pytest.raises(InvalidTelemetry) as exc:
        parse_telemetry(TOPIC, message(accuracy_m=-1), ARRIVED_MS)
    assert exc.value.reason.startswith("accuracy_m: ")
