"""A zone's speed limit counts from the crossing, not from the confirmation of the entry."""

from contracts import alert as A
from rules.fleet import engine as E
from rules.fleet.geofence_shapes import parse_feature
from rules.fleet.registry import parse_registry

from .helpers import LAT, LON, T0, cfg, fix, north

SCHOOL = parse_feature({"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON, LAT]},
                        "properties": {"id": "school", "kind": "zone", "radius_m": 150, "speed_limit_kmh": 30}}, "test")
REG = parse_registry({"fleets": [{"id": "f1", "name": "F"}], "vehicles": [{"id": "v1", "name": "V", "fleet_id": "f1"}]},
                     "test", {"school": SCHOOL})


def drive(speed_kmh: float, start_m: float = 600.0, seconds: int = 60) -> list:
    """1 Hz, driving south toward the zone centre at a constant speed."""
    return [fix(t, speed_kmh, lat=north(start_m - speed_kmh / 3.6 * t), ignition=True, rpm=2000.0) for t in range(seconds)]


def run(fixes, c):
    state, alerts = E.VehicleState(), []
    for f in fixes:
        state, out = E.on_fix(state, f, f.ts_ms + 200, REG, c)
        alerts += out.alerts
    return alerts


def test_school_zone_at_twice_the_limit_alerts_within_the_minimum_duration_of_entry():
    c = cfg(overspeed_min_duration_s=10, geofence_dwell_s=10)
    fixes = drive(60.0)
    crossed = next(f.ts_ms for f in fixes if SCHOOL.contains(f.lat, f.lon))
    alerts = run(fixes, c)
    enter = next(a for a in alerts if a.type == A.GEOFENCE_ENTER)
    over = next(a for a in alerts if a.type == A.OVERSPEED)
    assert enter.details["crossed_at_ts"] == crossed
    assert over.threshold == 30 and over.details["start_ts"] == crossed
    assert over.ts - crossed <= c.overspeed_min_duration_s * 1000  # 10 s, not dwell + duration (20 s)
    assert over.ts == enter.ts  # the entry's confirmation is the moment the episode reaches 10 s


def test_under_the_zone_limit_from_the_crossing_is_no_overspeed():
    alerts = run(drive(28.0, start_m=400, seconds=90), cfg(overspeed_min_duration_s=10))
    assert [a.type for a in alerts if a.type == A.OVERSPEED] == []


def test_slowing_down_after_the_crossing_starts_the_episode_at_the_first_fix_above_again():
    c = cfg(overspeed_min_duration_s=10, geofence_dwell_s=10)
    fixes, pos = [], 300.0
    for t in range(50):
        v = 60.0 if t < 16 else (25.0 if t < 19 else 50.0)  # crossing at ~t=15, brakes to 25, speeds up again
        fixes.append(fix(t, v, lat=north(pos), ignition=True, rpm=2000.0))
        pos -= v / 3.6
    alerts = run(fixes, c)
    over = next(a for a in alerts if a.type == A.OVERSPEED)
    assert over.details["start_ts"] == T0 + 19_000 and over.ts == T0 + 29_000
