"""The telemetry contract: what is accepted, what is rejected and with which reason."""

from __future__ import annotations

import json

import pytest

from contracts.avro import decode, encode
from contracts.telemetry import InvalidTelemetry, from_avro_record, parse_telemetry, parse_timestamp_ms, to_avro_record

TOPIC = "fleet/v1/telemetry"
ARRIVED_MS = 1795600801000  # 1 s after the payloads' ts: timestamps are bounded against the arrival


def payload(**over) -> bytes:
    d = {"vehicle_id": "v1", "ts": "2026-11-25T10:00:00Z", "lat": 52.5, "lon": 13.4, "speed_kmh": 42.5}
    d.update(over)
    return json.dumps({k: v for k, v in d.items() if v is not ...}).encode()


def reason(topic: str, data: bytes) -> str:
    with pytest.raises(InvalidTelemetry) as exc:
        parse_telemetry(topic, data, ARRIVED_MS)
    return exc.value.reason


def test_minimal_valid_message() -> None:
    t = parse_telemetry(TOPIC, payload(), received_at_ms=ARRIVED_MS)
    assert (t.vehicle_id, t.ts_ms, t.lat, t.lon, t.speed_kmh, t.received_at_ms) == ("v1", 1795600800000, 52.5, 13.4, 42.5, ARRIVED_MS)
    assert t.dtc == () and t.tire_pressure_kpa is None


def test_all_optional_fields_and_unknown_fields_kept_out() -> None:
    t = parse_telemetry(TOPIC, payload(heading_deg=90, altitude_m=34, ignition=True, rpm=2100, engine_load_pct=40,
                                       coolant_temp_c=90, fuel_level_pct=55.5, battery_v=14.1, odometer_km=12345.6,
                                       engine_hours=300.5, oil_life_pct=80, tire_pressure_kpa={"fl": 230, "fr": 231, "rl": 229, "rr": 228},
                                       accel_ms2={"x": -3.2, "y": 0.1, "z": 9.8}, dtc=["p0301", "P0420"], firmware="1.2.3"),
                        ARRIVED_MS)
    assert t.ignition is True and t.rpm == 2100 and t.tire_pressure_kpa.rr == 228 and t.accel_ms2.x == -3.2
    assert t.dtc == ("P0301", "P0420")
    assert not hasattr(t, "firmware")


@pytest.mark.parametrize("ts,expected", [
    ("2026-11-25T10:00:00Z", 1795600800000),
    ("2026-11-25T11:00:00+01:00", 1795600800000),
    ("2026-11-25T10:00:00.250Z", 1795600800250),
    (1764064800250, 1764064800250),
])
def test_timestamps(ts, expected) -> None:
    assert parse_timestamp_ms(ts) == expected


@pytest.mark.parametrize("topic,data,fragment", [
    ("fleet/v1/telemetry", b"{", "payload is not JSON"),
    ("fleet/v1/telemetry", b"\xff\xfe", "payload is not UTF-8"),
    ("fleet/v1/telemetry", b"42", "not a JSON object"),
    ("fleet/v1/status", payload(), "is not fleet/{vehicle_id}/telemetry"),
    ("fleet/a/b/telemetry", payload(), "is not fleet/{vehicle_id}/telemetry"),
    ("fleet/v2/telemetry", payload(), "does not match topic vehicle 'v2'"),
    (TOPIC, payload(ts=...), "ts: required field missing"),
    (TOPIC, payload(ts="2026-11-25T10:00:00"), "without a time zone"),
    (TOPIC, payload(ts=True), "ts: must be"),
    (TOPIC, payload(ts=-1), "out of range"),
    (TOPIC, payload(lat=90.0001), "lat:"),
    (TOPIC, payload(lon=180.5), "lon:"),
    (TOPIC, payload(speed_kmh=-0.1), "speed_kmh:"),
    (TOPIC, payload(speed_kmh=True), "speed_kmh: must be a number"),
    (TOPIC, payload(speed_kmh="12"), "speed_kmh: must be a number"),
    (TOPIC, payload(rpm="2000"), "rpm:"),
    (TOPIC, payload(ignition=1), "ignition:"),
    (TOPIC, payload(dtc=["P0301", 7]), "dtc:"),
    (TOPIC, payload(dtc="P0301"), "dtc:"),
    (TOPIC, payload(tire_pressure_kpa={"fl": -1}), "tire_pressure_kpa.fl:"),
    (TOPIC, payload(accel_ms2=[1, 2, 3]), "accel_ms2:"),
    (TOPIC, payload(pad="x" * 70_000), "exceeds"),
    (TOPIC, b'{"vehicle_id":"v1","ts":1,"lat":1,"lon":1,"speed_kmh":Infinity}', "speed_kmh:"),
    (TOPIC, b"[" * 100_000, "exceeds"),
    (TOPIC, b"[" * 60_000, "not JSON"),
])
def test_rejections_name_the_problem(topic, data, fragment) -> None:
    assert fragment in reason(topic, data)


def test_avro_round_trip_is_lossless() -> None:
    t = parse_telemetry(TOPIC, payload(ignition=False, tire_pressure_kpa={"fl": 230}, accel_ms2={"x": 1.5}, dtc=["P0171"]), ARRIVED_MS)
    assert from_avro_record(decode("telemetry", encode("telemetry", to_avro_record(t)))) == t
