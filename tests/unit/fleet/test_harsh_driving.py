from contracts import alert as A
from rules.fleet import harsh_driving as H

from .helpers import cfg, fix

C = cfg(harsh_brake_ms2=4.0, harsh_accel_ms2=3.5, harsh_corner_ms2=4.0, harsh_max_gap_s=10)


def run(fixes, c=C):
    state, out = H.HarshState(), []
    for f in fixes:
        state, alerts = H.step(state, f, None, c)
        out += alerts
    return out


def test_braking_from_speed_delta():
    # 50 -> 35 km/h in 1 s = 4.17 m/s^2
    out = run([fix(0, 50), fix(1, 35)])
    assert [a.type for a in out] == [A.HARSH_BRAKING]
    assert round(out[0].value, 2) == 4.17 and out[0].threshold == 4.0
    assert out[0].details["method"] == "speed_delta"


def test_moderate_braking_is_not_harsh():
    assert run([fix(0, 50), fix(1, 40)]) == []  # 2.78 m/s^2


def test_acceleration_from_speed_delta_over_two_seconds():
    # 20 -> 46 km/h in 2 s = 3.61 m/s^2
    assert [a.type for a in run([fix(0, 20), fix(2, 46)])] == [A.HARSH_ACCELERATION]


def test_gap_too_long_gives_no_value():
    assert run([fix(0, 100), fix(11, 0)]) == []


def test_one_incident_per_burst_cleared_after_the_quiet_period():
    out = run([fix(0, 80), fix(1, 60), fix(2, 40), fix(3, 20), fix(4, 15), fix(5, 0)])
    assert [(a.type, a.state, a.ts) for a in out] == [(A.HARSH_BRAKING, "raised", fix(1).ts_ms)]  # 1..3 and 5: one burst
    quiet = [fix(t, 0) for t in range(6, 40)]
    out = run([fix(0, 80), fix(1, 60), fix(2, 40), fix(3, 20), fix(4, 15), fix(5, 0), *quiet])
    raised, cleared = out
    assert cleared.state == "cleared" and cleared.incident_id == raised.alert_id == raised.incident_id
    assert cleared.ts == fix(35).ts_ms  # 30 s (harsh_quiet_s) after the last harsh reading, at 5 s
    assert cleared.details == {"start_ts": fix(1).ts_ms, "end_ts": fix(5).ts_ms, "events": 2,
                               "peak_ms2": round(20 / 3.6, 3), "incident_severity": "warning"}
    assert cleared.severity == "info" and cleared.alert_id != raised.alert_id


def test_a_new_burst_after_the_clear_is_a_new_incident_with_a_deterministic_id():
    drive = [fix(0, 60), fix(1, 40), *[fix(t, 40) for t in range(2, 40)], fix(40, 20), fix(41, 20)]
    out = run(drive)
    assert [(a.state, a.ts) for a in out] == [("raised", fix(1).ts_ms), ("cleared", fix(31).ts_ms), ("raised", fix(40).ts_ms)]
    assert len({a.alert_id for a in out}) == 3 and out[2].incident_id == out[2].alert_id
    assert [a.alert_id for a in run(drive)] == [a.alert_id for a in out]  # a replay: the same ids


def test_a_state_from_before_incidents_does_not_raise_again() -> None:
    old = H.HarshState(prev_ts=fix(1).ts_ms, prev_speed_kmh=60.0, braking_since=fix(1).ts_ms)  # no incidents field set
    state, alerts = H.step(old, fix(2, 40), None, C)
    assert alerts == [] and state.braking_since == fix(1).ts_ms


def test_accelerometer_wins_over_speed_delta():
    out = run([fix(0, 50), fix(1, 35, accel_ms2={"x": -1.0, "y": 0.0})])
    assert out == []
    out = run([fix(0, 50), fix(1, 49, accel_ms2={"x": -5.0})])
    assert [(a.type, a.value, a.details["method"]) for a in out] == [(A.HARSH_BRAKING, 5.0, "accelerometer")]


def test_cornering_from_lateral_accel():
    out = run([fix(0, 50, accel_ms2={"x": 0.0, "y": -4.5}), fix(1, 50, accel_ms2={"x": 0.0, "y": 4.6})])
    assert [a.type for a in out] == [A.HARSH_CORNERING]
