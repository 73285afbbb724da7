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


def test_one_alert_per_episode():
    out = run([fix(0, 80), fix(1, 60), fix(2, 40), fix(3, 20), fix(4, 15), fix(5, 0)])
    assert [a.type for a in out] == [A.HARSH_BRAKING, A.HARSH_BRAKING]  # 1..3 one episode, 4 ends it, 5 new
    assert [a.ts for a in out] == [fix(1).ts_ms, fix(5).ts_ms]


def test_accelerometer_wins_over_speed_delta():
    out = run([fix(0, 50), fix(1, 35, accel_ms2={"x": -1.0, "y": 0.0})])
    assert out == []
    out = run([fix(0, 50), fix(1, 49, accel_ms2={"x": -5.0})])
    assert [(a.type, a.value, a.details["method"]) for a in out] == [(A.HARSH_BRAKING, 5.0, "accelerometer")]


def test_cornering_from_lateral_accel():
    out = run([fix(0, 50, accel_ms2={"x": 0.0, "y": -4.5}), fix(1, 50, accel_ms2={"x": 0.0, "y": 4.6})])
    assert [a.type for a in out] == [A.HARSH_CORNERING]
