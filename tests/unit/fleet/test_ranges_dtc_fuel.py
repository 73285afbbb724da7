from itertools import pairwise

from contracts import alert as A
from rules.fleet import dtc as D
from rules.fleet import fuel as F
from rules.fleet import ranges as R
from rules.fleet.dtc_codes import COMMON, describe, is_severe

from .helpers import T0, cfg, fix, north

C = cfg(range_min_samples=2)


def run(mod, fixes, c=C, state=None):
    state = state if state is not None else {R: R.RangeState(), D: D.DtcState(), F: F.FuelState()}[mod]
    out = []
    for f in fixes:
        state, a = mod.step(state, f, None, c)
        out += a
    return state, out


def test_coolant_needs_two_samples_and_escalates_once():
    _, out = run(R, [fix(0, coolant_temp_c=115.0)])
    assert out == []
    temps = [90, 115, 116, 118, 125, 126, 100, 112, 113, 127, 128]
    _, out = run(R, [fix(i, coolant_temp_c=float(t)) for i, t in enumerate(temps)])
    # raised at the 2nd reading over 110, escalated at the 2nd over 120; the dip to 100 is within
    # the 300 s hold-off, so 112 extends the open incident and 127/128 cannot escalate it again
    assert [(a.type, a.severity, a.state, a.ts - T0) for a in out] == [
        (A.COOLANT_HIGH, "warning", "raised", 2000), (A.COOLANT_HIGH, "critical", "escalated", 5000)]
    assert out[0].incident_id == out[1].incident_id == out[0].alert_id != out[1].alert_id


def test_incident_clears_after_the_hold_off_past_the_clear_threshold_only():
    c = cfg(range_min_samples=2, range_clear_s=300, coolant_hysteresis_c=5)
    hot = [fix(t, coolant_temp_c=115.0) for t in (0, 60)]
    band = [fix(120 + 60 * i, coolant_temp_c=108.0) for i in range(20)]  # in range, not 5 C under: stays open
    cool = [fix(1400 + 60 * i, coolant_temp_c=95.0) for i in range(7)]  # back past 105 C: clears 300 s later
    _, out = run(R, hot + band + cool, c=c)
    assert [(a.state, a.severity, a.ts - T0) for a in out] == [("raised", "warning", 60_000), ("cleared", "info", 1_700_000)]
    assert out[1].incident_id == out[0].alert_id and out[1].value == 95.0
    again = [fix(2000 + t, coolant_temp_c=115.0) for t in (0, 60)]  # after the clear: a new incident
    _, out2 = run(R, hot + band + cool + again, c=c)
    assert [a.state for a in out2] == ["raised", "cleared", "raised"] and out2[2].incident_id != out2[0].incident_id


def test_hovering_battery_overnight_is_one_incident():
    """Engine off, resting just under the 12.2 V limit (12.18 V +-0.03 V noise), a reading a minute for 10 h."""
    import random
    rng = random.Random(3)
    fixes = [fix(60 * i, battery_v=round(12.18 + rng.uniform(-0.03, 0.03), 3), ignition=False) for i in range(600)]
    crossings = sum((a.battery_v < 12.2) != (b.battery_v < 12.2) for a, b in pairwise(fixes))
    assert crossings > 100  # the noise crosses the limit all night (the old rule: one warning each)
    for n in (2, 10):
        _, out = run(R, fixes, c=cfg(range_min_samples=n))
        assert [(a.type, a.state) for a in out] == [(A.BATTERY_LOW, "raised")]


def test_starting_the_engine_clears_a_battery_low_incident():
    c = cfg(range_min_samples=2, range_clear_s=60)
    parked = [fix(t, battery_v=12.0, ignition=False) for t in (0, 60)]
    running = [fix(120 + 30 * i, battery_v=14.1, rpm=900.0, ignition=True) for i in range(4)]
    _, out = run(R, parked + running, c=c)
    assert [(a.type, a.state, a.ts - T0) for a in out] == [(A.BATTERY_LOW, "raised", 60_000), (A.BATTERY_LOW, "cleared", 180_000)]


def test_battery_depends_on_engine_state():
    off = [fix(i, battery_v=12.1, ignition=False) for i in range(2)]
    running = [fix(i, battery_v=12.6, rpm=900.0) for i in range(2)]
    healthy_running = [fix(i, battery_v=14.1, rpm=900.0) for i in range(2)]
    healthy_off = [fix(i, battery_v=12.5, ignition=False) for i in range(2)]
    assert [a.type for a in run(R, off)[1]] == [A.BATTERY_LOW]
    assert [a.type for a in run(R, running)[1]] == [A.CHARGING_FAULT]
    assert run(R, healthy_running)[1] == [] and run(R, healthy_off)[1] == []
    # ignition on but engine not turning: not charging is expected, judge as engine off
    assert run(R, [fix(i, battery_v=12.5, ignition=True, rpm=0.0) for i in range(2)])[1] == []
    assert [a.severity for a in run(R, [fix(i, battery_v=11.5) for i in range(2)])[1]] == ["critical"]


def test_tires_per_wheel_and_oil_and_rpm():
    tires = {"fl": 230.0, "fr": 180.0, "rl": 140.0, "rr": 340.0}
    _, out = run(R, [fix(i, tire_pressure_kpa=tires, oil_life_pct=4.0, rpm=6000.0) for i in range(2)])
    got = sorted((a.type, a.severity, a.details["key"]) for a in out)
    assert got == sorted([
        (A.TIRE_PRESSURE_LOW, "warning", "tire_fr"), (A.TIRE_PRESSURE_LOW, "critical", "tire_rl"),
        (A.TIRE_PRESSURE_HIGH, "warning", "tire_rr"), (A.OIL_LIFE_LOW, "critical", "oil_life"), (A.RPM_HIGH, "warning", "rpm")])
    assert "front right tire pressure" in next(a.message for a in out if a.details["key"] == "tire_fr")


def test_missing_value_keeps_the_episode():
    fixes = [fix(0, coolant_temp_c=115.0), fix(1), fix(2, coolant_temp_c=115.0), fix(3, coolant_temp_c=115.0)]
    assert len(run(R, fixes)[1]) == 1


def test_dtc_new_code_alerts_once_with_description():
    fixes = [fix(0, dtc=["P0301"]), fix(1, dtc=["P0301"]), fix(2), fix(3, dtc=["P0301", "P0420"])]
    _, out = run(D, fixes)
    assert [(a.details["code"], a.severity) for a in out] == [("P0301", "critical"), ("P0420", "warning")]
    assert "Cylinder 1 misfire" in out[0].message and "Catalyst" in out[1].message


def test_dtc_realerts_after_long_silence():
    """Seen again after dtc_realert_after_s with no fix in between: the old incident clears, a new one is raised."""
    c = cfg(dtc_realert_after_s=3600)
    _, out = run(D, [fix(0, dtc=["P0171"]), fix(3599, dtc=["P0171"]), fix(3599 + 3600, dtc=["P0171"])], c=c)
    assert [(a.state, a.ts - T0) for a in out] == [("raised", 0), ("cleared", 7_199_000), ("raised", 7_199_000)]
    assert out[1].incident_id == out[0].alert_id and out[1].details["reason"] == "not_reported"


def test_dtc_clears_when_the_code_is_gone_for_the_hold_off():
    c = cfg(dtc_clear_s=900, range_min_samples=2)
    fixes = [fix(t, dtc=["P0301"]) for t in range(0, 120, 30)]
    fixes += [fix(t, dtc=[]) for t in range(120, 600, 60)] + [fix(600, dtc=["P0301"])]  # back within 900 s: goes on
    fixes += [fix(t, dtc=[]) for t in range(660, 1620, 60)]  # gone from 660 s: clears at 660 + 900
    _, out = run(D, fixes, c=c)
    assert [(a.state, a.severity, a.ts - T0) for a in out] == [("raised", "critical", 0), ("cleared", "info", 1_560_000)]
    clear = out[1]
    assert clear.incident_id == out[0].alert_id and clear.type == A.DTC
    assert clear.details == {"code": "P0301", "description": "Cylinder 1 misfire detected", "start_ts": T0, "end_ts": T0 + 660_000,
                             "reason": "gone", "incident_severity": "critical"}
    _, again = run(D, [*fixes, fix(1700, dtc=["P0301"])], c=c)
    assert [a.state for a in again] == ["raised", "cleared", "raised"] and again[2].alert_id != out[0].alert_id
    assert [a.alert_id for a in run(D, fixes, c=c)[1]] == [a.alert_id for a in out]  # a replay: the same ids


def test_dtc_descriptions():
    assert len(COMMON) >= 40
    assert describe("p0304") == "Cylinder 4 misfire detected"
    assert "manufacturer-specific" in describe("P1234") and describe("B0001").startswith("Body fault")
    assert is_severe("P0217") and not is_severe("P0420")


FC = cfg(fuel_window_s=900, fuel_drop_parked_pct=5, fuel_drop_moving_pct=10, refuel_rise_pct=10)


def test_siphoning_while_parked_overnight_across_a_data_gap():
    evening = [fix(t, 0, ignition=False, fuel_level_pct=60.0) for t in range(0, 90, 30)]
    morning = [fix(36000 + t, 0, ignition=False, fuel_level_pct=48.0) for t in range(0, 90, 30)]
    _, out = run(F, evening + morning, c=FC)
    assert [(a.type, a.value, a.ts - T0) for a in out] == [(A.FUEL_DROP, 12.0, 36030_000)]
    assert "siphoning" in out[0].message


def test_normal_consumption_is_not_a_drop():
    # 60 % -> 57 % over 15 minutes of driving north at 50 km/h
    fixes = [fix(t, 50, lat=north(t * 50 / 3.6), fuel_level_pct=60 - 3 * t / 900) for t in range(0, 1800, 10)]
    assert run(F, fixes, c=FC)[1] == []


def test_fast_drop_while_driving_is_a_leak_and_one_spike_is_ignored():
    fixes = [fix(t, 50, lat=north(t * 14), fuel_level_pct=70.0) for t in range(0, 60, 10)]
    fixes.append(fix(60, 50, lat=north(840), fuel_level_pct=20.0))  # one sloshing reading
    fixes += [fix(t, 50, lat=north(t * 14), fuel_level_pct=70.0) for t in range(70, 120, 10)]
    assert run(F, fixes, c=FC)[1] == []
    fixes += [fix(t, 50, lat=north(t * 14), fuel_level_pct=58.0) for t in range(120, 160, 10)]
    _, out = run(F, fixes, c=FC)
    assert [(a.type, a.value) for a in out] == [(A.FUEL_DROP, 12.0)]


def test_refuel():
    fixes = [fix(t, 0, fuel_level_pct=20.0) for t in range(0, 60, 10)] + [fix(t, 0, fuel_level_pct=80.0) for t in range(60, 120, 10)]
    _, out = run(F, fixes, c=FC)
    assert [(a.type, a.value) for a in out] == [(A.REFUEL, 60.0)]


def test_fuel_median_is_statistics_median_to_the_bit():
    """The smoothing's own median of one to three readings equals ``statistics.median`` (type and sign of zero too)."""
    import itertools
    import statistics

    from rules.fleet.fuel import _median

    values = [0.0, -0.0, 1.5, 1.5, 2.0, 100.0, 33.3, 7]
    combos = [t for k in (1, 2, 3) for t in itertools.product(values, repeat=k)]
    assert len(combos) == 584
    for t in combos:
        assert repr(_median(t)) == repr(statistics.median(t)), t
