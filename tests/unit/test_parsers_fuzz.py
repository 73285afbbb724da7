"""Property tests over the two parsers that face the outside world (telemetry and quotes):
whatever arrives - wrong types, NaN / inf, huge payloads, invalid UTF-8, deep nesting,
spoofed vehicle ids - ends as a valid record or a rejection with a reason; nothing else."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.avro import decode, encode
from contracts.deadletter import DeadLetter
from contracts.quote import InvalidQuote, from_json
from contracts.telemetry import InvalidTelemetry, Telemetry, parse_telemetry, to_avro_record
from dataflows.fleet_ingest import validate
from sources.mqtt import MqttMessage

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
                         st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                  st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
vehicle_ids = st.one_of(st.just("v1"), st.text(max_size=70), st.sampled_from(["v1/../v2", "+", "#", "v 1", "v1\x00", "ü", "a" * 65]))
fields = {
    "vehicle_id": vehicle_ids, "ts": st.one_of(st.integers(-10, 2**64), st.text(max_size=40), json_values,
                                                st.just("2026-11-25T10:00:00Z")),
    "lat": st.one_of(st.floats(-100, 100), json_values), "lon": st.one_of(st.floats(-200, 200), json_values),
    "speed_kmh": st.one_of(st.floats(-10, 2000), json_values), "rpm": json_values, "ignition": json_values,
    "tire_pressure_kpa": json_values, "accel_ms2": json_values, "dtc": json_values,
}
documents = st.fixed_dictionaries({}, optional=fields)


def _dumps(doc: object) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


def check_telemetry(topic: str, payload: bytes) -> None:
    try:
        t = parse_telemetry(topic, payload, 1795600801000)  # arrival 1 s after the sampled valid ts
    except InvalidTelemetry as exc:
        assert exc.reason and isinstance(exc.reason, str)
        return
    assert isinstance(t, Telemetry)
    assert topic == f"fleet/{t.vehicle_id}/telemetry", "a payload can never speak for another vehicle"
    assert all(math.isfinite(x) for x in (t.lat, t.lon, t.speed_kmh))
    assert decode("telemetry", encode("telemetry", to_avro_record(t)))["vehicle_id"] == t.vehicle_id


@SETTINGS
@given(documents, st.sampled_from(["fleet/v1/telemetry", "fleet/v2/telemetry", "fleet//telemetry", "fleet/v1/x/telemetry"]))
def test_structured_documents(doc: dict, topic: str) -> None:
    check_telemetry(topic, _dumps(doc))


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(payload: bytes) -> None:
    check_telemetry("fleet/v1/telemetry", payload)


@SETTINGS
@given(st.integers(1, 200_000), st.sampled_from(["[", "{\"a\":", "[{\"x\":"]))
def test_deep_nesting_and_huge(depth: int, opener: str) -> None:
    check_telemetry("fleet/v1/telemetry", (opener * depth).encode())


@SETTINGS
@given(st.binary(max_size=300), st.text(max_size=60))
def test_ingest_step_never_raises_and_keeps_bytes(payload: bytes, topic: str) -> None:
    out = validate(MqttMessage(topic, payload, 1))
    if isinstance(out, DeadLetter):
        d = json.loads(out.to_json())
        assert d["reason"] and d["source_topic"] == topic
    else:
        assert isinstance(out, Telemetry)


quote_fields = st.fixed_dictionaries({}, optional={
    "exchange": st.one_of(st.just("binance"), json_values), "symbol": st.one_of(st.just("BTC/USDT"), json_values),
    "bid": st.one_of(st.floats(allow_nan=True, allow_infinity=True), json_values),
    "ask": st.one_of(st.floats(allow_nan=True, allow_infinity=True), json_values),
    "last": json_values, "bid_size": json_values, "ask_size": json_values, "base_volume": json_values,
    "exchange_ts_ms": json_values, "recv_ts_ms": st.one_of(st.integers(-5, 2**64), json_values)})


@SETTINGS
@given(st.one_of(quote_fields.map(_dumps), st.binary(max_size=500)))
def test_quotes(payload: bytes) -> None:
    try:
        q = from_json(payload)
    except InvalidQuote as exc:
        assert exc.reason
        return
    assert q.bid > 0 and q.ask > 0 and q.bid <= q.ask and math.isfinite(q.bid) and math.isfinite(q.ask)
