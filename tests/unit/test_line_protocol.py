"""The hand-built telemetry line (sinks/influx_points/fleet.py) is exactly the line an
influxdb_client Point of the same fix gives, and the escaping follows the line-protocol spec
(https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/#special-characters)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client import Point, WritePrecision

from contracts.line_protocol import escape_key, escape_measurement, escape_tag_value, float_field, string_field
from contracts.telemetry import Telemetry
from sinks.influx_points.fleet import telemetry_line, telemetry_point


def opt(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


def num(lo: float, hi: float) -> st.SearchStrategy:
    return st.one_of(st.floats(lo, hi, allow_nan=False), st.integers(int(lo), int(hi)).map(float),
                     st.sampled_from([lo, hi, 0.0, 1e-7, 123456789.125]).filter(lambda x: lo <= x <= hi))


wheels = st.fixed_dictionaries({}, optional={w: opt(num(0, 1000)) for w in ("fl", "fr", "rl", "rr")})
accel = st.fixed_dictionaries({}, optional={a: opt(num(-200, 200)) for a in ("x", "y", "z")})
fixes = st.builds(lambda d: Telemetry.model_validate(d), st.fixed_dictionaries(
    {"vehicle_id": st.from_regex(r"^[A-Za-z0-9_.:-]{1,64}$", fullmatch=True), "ts_ms": st.integers(0, 32_503_680_000_000),
     "lat": num(-90, 90), "lon": num(-180, 180), "speed_kmh": num(0, 1000)},
    optional={"heading_deg": opt(num(0, 360)), "altitude_m": opt(num(-1000, 20000)), "ignition": opt(st.booleans()),
              "rpm": opt(num(0, 20000)), "battery_v": opt(num(0, 60)), "odometer_km": opt(num(0, 10_000_000)),
              "coolant_temp_c": opt(num(-60, 200)), "oil_life_pct": opt(num(0, 100)), "engine_hours": opt(num(0, 1_000_000)),
              "tire_pressure_kpa": opt(wheels), "accel_ms2": opt(accel),
              "dtc": st.lists(st.from_regex(r"^[A-Za-z0-9]{4,8}$", fullmatch=True), max_size=3)}))
fleet_ids = st.one_of(st.none(), st.just(""), st.text(max_size=20), st.sampled_from(["a b", "a,b", "a=b", "end\\", "x\ny"]))


@settings(max_examples=300, deadline=None)
@given(fixes, fleet_ids)
def test_telemetry_line_is_the_points_line(fix: Telemetry, fleet_id: str | None) -> None:
    assert telemetry_line(fix, fleet_id) == telemetry_point(fix, fleet_id).to_line_protocol(WritePrecision.MS)


def test_a_known_fix_gives_the_documented_line() -> None:
    fix = Telemetry.model_validate({"vehicle_id": "van-1", "ts_ms": 1_796_000_000_123, "lat": 52.5, "lon": 13.0, "speed_kmh": 80,
                                    "ignition": False, "dtc": ["p0300", "P0420"], "tire_pressure_kpa": {"fl": 230.5}})
    assert telemetry_line(fix, "north fleet") == ('telemetry,fleet_id=north\\ fleet,vehicle_id=van-1 dtc="P0300,P0420",'
                                                  'ignition=false,lat=52.5,lon=13,speed_kmh=80,tire_fl_kpa=230.5 1796000000123')


@given(st.text(max_size=30))
def test_escaping_matches_influxdb_client(text: str) -> None:
    p = Point("m" + text).tag("k", text).field("f", text).field(text or "g", 1.5).time(1, WritePrecision.MS)
    tags = f",k={escape_tag_value(text)}" if text else ""
    fields = sorted([("f", string_field(text)), (text or "g", "1.5")]) if text != "f" else [("f", "1.5")]
    assert p.to_line_protocol() == f"{escape_measurement('m' + text)}{tags} " + ",".join(
        f"{escape_key(k)}={v}" for k, v in fields) + " 1"


def test_special_characters_per_the_spec() -> None:
    assert escape_measurement("cpu load,x=1") == r"cpu\ load\,x=1"  # = needs no escape in a measurement
    assert escape_key("a b,c=d") == r"a\ b\,c\=d"
    assert escape_tag_value("C:\\") == "C:\\ "  # a trailing backslash would escape the separator
    assert string_field('say "hi" \\o/') == r'"say \"hi\" \\o/"'
    assert string_field("a, b=c") == '"a, b=c"'  # commas, spaces and = are literal inside a string field
    assert [float_field(x) for x in (3.0, -0.5, 1e20, 1e-7, 123456789.125)] == ["3", "-0.5", "1e+20", "1e-07", "123456789.125"]
