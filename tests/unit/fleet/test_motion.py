"""Motion events from hand-computed drives north (helpers.north: exact metres of latitude)."""

import pytest

from contracts import alert as A
from rules.fleet import motion as M
from rules.fleet import trips as T

from .helpers import T0, cfg, fix, north

C = cfg(trip_start_speed_kmh=5, trip_min_stop_s=300, trip_max_gap_s=600, trip_min_distance_m=500, trip_min_duration_s=300,
        motion_min_distance_m=500, motion_min_duration_s=300)


def drive(legs):
    """legs = [(t_start_s, t_end_s, every_s, speed_kmh)], position advanced by speed * dt."""
    fixes, pos, last_t = [], 0.0, None
    for start, end, every, speed in legs:
        for t in range(start, end, every):
            if last_t is not None:
                pos += speed / 3.6 * (t - last_t)
            fixes.append(fix(t, speed, lat=north(pos), ignition=True))
            last_t = t
    return fixes


def run(fixes, c=C):
    trips_st, mst, alerts, trips = T.TripState(), M.MotionState(), [], []
    for f in fixes:
        trips_st, done = T.step(trips_st, f, "f1", [], c)
        trips += done
        mst, out = M.step(mst, trips_st, f.vehicle_id, "f1", c, f.ts_ms)
        alerts += out
    return trips_st, mst, alerts, trips


def test_started_at_500_m_and_stopped_after_the_5_minute_stop():
    # parked at t=0; 36 km/h = 100 m per 10 s fix from t=10 (the motion's start) to t=60; stopped from t=70
    # (the stop's fixes continue at t=70..370 without moving)
    fixes = drive([(0, 10, 10, 0), (10, 70, 10, 36), (70, 380, 10, 0)])
    _, _, alerts, trips = run(fixes)
    assert [(a.type, a.ts) for a in alerts] == [(A.MOTION_STARTED, T0 + 60_000), (A.MOTION_STOPPED, T0 + 70_000)]
    started, stopped = alerts
    # distance counts from the start fix (t=10, 0 m moved) to t=60: 5 x 100 m
    assert started.value == pytest.approx(500, abs=0.01) and started.details["start_ts"] == T0 + 10_000
    assert started.threshold == 500 and started.severity == "info"
    # the stop's first fix (t=70) is where t=60 was (the drive advances at each leg's speed);
    # confirmed at t=370 (300 s later), stamped t=70
    assert stopped.value == pytest.approx(500, abs=0.01) and stopped.details["duration_s"] == 60
    assert stopped.alert_id != started.alert_id
    assert trips == []  # 60 s is under trip_min_duration_s: a motion without a kept trip


def test_below_both_thresholds_is_no_event():
    # 400 m in 40 s, then a long stop
    _, _, alerts, _ = run(drive([(0, 10, 10, 0), (10, 50, 10, 36), (50, 400, 10, 0)]))
    assert alerts == []


def test_duration_alone_announces_when_distance_is_out_of_reach():
    c = cfg(trip_min_distance_m=2000, motion_min_distance_m=2000, motion_min_duration_s=300)
    # 6 km/h, a fix a minute = 100 m per fix: 300 s after the start (t=60) is t=360, 500 m
    _, _, alerts, _ = run(drive([(0, 60, 60, 0), (60, 420, 60, 6)]), c)
    assert [(a.type, a.ts, a.details["duration_s"]) for a in alerts] == [(A.MOTION_STARTED, T0 + 360_000, 300)]


def test_thresholds_are_capped_at_the_trip_minima():
    c = cfg(motion_min_distance_m=5000, motion_min_duration_s=3000, trip_min_distance_m=500, trip_min_duration_s=300)
    _, _, alerts, _ = run(drive([(0, 10, 10, 0), (10, 70, 10, 36)]), c)
    assert [(a.type, a.ts) for a in alerts] == [(A.MOTION_STARTED, T0 + 60_000)]


def test_short_stop_keeps_one_motion_and_the_kept_trip_matches_it():
    # 10 min at 36 km/h, 2 min stop, 10 min, then parked for 6 min
    fixes = drive([(0, 600, 10, 36), (600, 720, 10, 0), (720, 1320, 10, 36), (1320, 1700, 10, 0)])
    _, _, alerts, trips = run(fixes)
    assert [a.type for a in alerts] == [A.MOTION_STARTED, A.MOTION_STOPPED]
    (trip,) = trips
    assert alerts[0].details["start_ts"] == trip.start_ts == T0
    assert alerts[1].ts == trip.end_ts == T0 + 1_320_000
    assert alerts[1].value / 1000 == pytest.approx(trip.distance_km, abs=0.001)


def test_data_gap_ends_the_motion_at_the_last_fix_before_it():
    # moving 0..100 s (1 km), silence for 700 s (> trip_max_gap_s), moving again at t=800
    fixes = drive([(0, 110, 10, 36)]) + [fix(800, 36, lat=north(5000), ignition=True)]
    _, mst, alerts, _ = run(fixes)
    assert [(a.type, a.ts) for a in alerts] == [(A.MOTION_STARTED, T0 + 50_000), (A.MOTION_STOPPED, T0 + 100_000)]
    assert mst.start_ts == T0 + 800_000 and not mst.announced  # the new motion waits for its own 500 m


def test_tick_ends_a_motion_whose_vehicle_went_quiet():
    trips_st, mst, alerts, _ = run(drive([(0, 110, 10, 36)]))
    assert [a.type for a in alerts] == [A.MOTION_STARTED]
    trips_st, _ = T.tick(trips_st, "v1", "f1", T0 + 100_000 + 601_000, C)
    mst, out = M.step(mst, trips_st, "v1", "f1", C)
    assert [(a.type, a.ts) for a in out] == [(A.MOTION_STOPPED, T0 + 100_000)]
    assert out[0].alert_id == A.make_alert_id("v1", A.MOTION_STOPPED, T0, None)
    assert M.step(mst, trips_st, "v1", "f1", C) == (M.MotionState(), [])


def test_ids_are_deterministic_per_motion_start():
    fixes = drive([(0, 10, 10, 0), (10, 70, 10, 36), (70, 380, 10, 0)])
    assert [a.alert_id for a in run(fixes)[2]] == [a.alert_id for a in run(fixes)[2]]
    assert run(fixes)[2][0].alert_id == A.make_alert_id("v1", A.MOTION_STARTED, T0 + 10_000, None)
