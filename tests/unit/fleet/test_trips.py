import pytest

from contracts import alert as A
from rules.fleet import scoring as S
from rules.fleet import trips as T

from .helpers import T0, cfg, fix, north

C = cfg(trip_start_speed_kmh=5, trip_min_stop_s=300, trip_max_gap_s=600, trip_min_distance_m=500, trip_min_duration_s=300)


class Drive:
    """Scripted drive north at 10 s per fix; keeps position."""

    def __init__(self):
        self.t, self.pos, self.fixes = 0, 0.0, []

    def go(self, seconds, speed, **kw):
        for _ in range(0, seconds, 10):
            self.fixes.append(fix(self.t, speed, lat=north(self.pos), **kw))
            self.pos += speed / 3.6 * 10
            self.t += 10
        return self


def run(fixes, emitted=None, state=None):
    state, out = state or T.TripState(), []
    for f in fixes:
        state, trips = T.step(state, f, "f1", (emitted or {}).get(f.ts_ms, []), C)
        out += trips
    return state, out


def test_trip_with_short_stop_is_one_trip():
    d = Drive().go(600, 36, ignition=True).go(120, 0, ignition=True).go(600, 36, ignition=True).go(400, 0, ignition=False)
    _, trips = run(d.fixes)
    assert len(trips) == 1
    t = trips[0]
    assert t.start_ts == T0 and t.end_ts == T0 + 1320_000  # first stopped fix after the second leg
    # 1200 s at 10 m/s = 12 km; the short stop's 120 s with the engine on is idle time
    assert t.distance_km == pytest.approx(12.0, abs=0.01)
    assert t.idle_s == 120 and t.duration_s == 1320 and t.max_speed_kmh == 36
    assert t.mean_speed_kmh == pytest.approx(12.0 / (1320 / 3600), abs=0.1)
    assert t.trip_id == A.make_alert_id("v1", "trip", T0)


def test_long_stop_splits_into_two_trips():
    d = Drive().go(600, 36).go(400, 0).go(600, 36).go(400, 0)
    _, trips = run(d.fixes)
    assert [(t.start_ts - T0, t.end_ts - T0) for t in trips] == [(0, 600_000), (1000_000, 1600_000)]


def test_short_trips_are_discarded():
    assert run(Drive().go(310, 5.5).go(400, 0).fixes)[1] == []  # 474 m in 310 s: too short in distance
    assert run(Drive().go(200, 50).go(400, 0).fixes)[1] == []  # 2.8 km in 200 s: too short in time
    assert run(Drive().go(400, 4).go(400, 0).fixes)[1] == []  # never moving (below 5 km/h)
    assert len(run(Drive().go(300, 7).go(400, 0).fixes)[1]) == 1  # 583 m in 300 s: kept


def test_data_gap_ends_the_trip_at_the_last_fix():
    d = Drive().go(600, 36)
    d.t += 700
    d.go(600, 36)
    _, trips = run(d.fixes)
    assert [(t.start_ts - T0, t.end_ts - T0) for t in trips] == [(0, 590_000)]


def test_tick_closes_trip_of_a_vehicle_gone_quiet():
    state, trips = run(Drive().go(600, 36).go(20, 0, ignition=False).fixes)
    assert trips == []
    state, trips = T.tick(state, "v1", "f1", T0 + 600_000 + 299_000, C)
    assert trips == []
    state, trips = T.tick(state, "v1", "f1", T0 + 600_000 + 300_000, C)
    assert len(trips) == 1 and trips[0].end_ts == T0 + 600_000 and state.trip is None


def test_events_are_counted_and_scored():
    d = Drive().go(1200, 60)  # 20 km
    d.go(400, 0)
    emitted = {
        d.fixes[5].ts_ms: [A.make_alert(vehicle_id="v1", fleet_id=None, type=A.HARSH_BRAKING, severity="warning", ts=0, episode_ts=1, message="")],
        d.fixes[9].ts_ms: [A.make_alert(vehicle_id="v1", fleet_id=None, type=A.OVERSPEED, severity="warning", ts=0, episode_ts=2, message=""),
                           A.make_alert(vehicle_id="v1", fleet_id=None, type=A.OVERSPEED_END, severity="info", ts=0, episode_ts=2, message="")],
    }
    _, trips = run(d.fixes, emitted)
    t = trips[0]
    assert t.events == {"harsh_braking": 1, "harsh_acceleration": 0, "harsh_cornering": 0, "overspeed": 1}
    # (2 + 3) points * 100 / 20 km = 25 -> 75
    assert t.safety_score == 75.0


def test_safety_score_formula():
    c = cfg()
    assert S.safety_score(100, {}, 0, c) == 100.0
    assert S.safety_score(100, {"harsh_braking": 5, "overspeed": 2}, 0, c) == 84.0  # 10 + 6 per 100 km
    assert S.safety_score(1, {"harsh_braking": 1}, 0, c) == 80.0  # distance floored at 10 km
    assert S.safety_score(50, {}, 3000, c) == 90.0  # 50 min idle = 5 points on 50 km = 10 per 100 km
    assert S.safety_score(10, {"overspeed": 10}, 0, c) == 0.0  # clamped


def test_daily_score_is_distance_weighted_per_local_day():
    c = cfg()
    t1 = T.Trip("a", "v1", None, T0, T0 + 1, 0, 0, 0, 0, 80.0, 3600, 100, 80, 0, {"harsh_braking": 1}, 0)
    t2 = T.Trip("b", "v1", None, T0 + 7200_000, T0 + 1, 0, 0, 0, 0, 20.0, 1200, 100, 60, 600, {"overspeed": 2}, 0)
    state, day = S.add_trip(S.DailyState(), t1, "Europe/Berlin", c)
    state, day = S.add_trip(state, t2, "Europe/Berlin", c)
    # 100 km, 2 + 6 + 1 (10 min idle) = 9 points -> 91
    assert (day.day, day.trips, day.distance_km, day.score) == ("2025-11-24", 2, 100.0, 91.0)
    # 23:30 UTC on the 24th is already the 25th in Berlin
    late = T.Trip("c", "v1", None, T0 + 13.5 * 3600_000, T0, 0, 0, 0, 0, 1.0, 60, 10, 10, 0, {}, 0)
    state, day = S.add_trip(state, late, "Europe/Berlin", c)
    assert day.day == "2025-11-25" and set(state.days) == {"2025-11-24", "2025-11-25"}
