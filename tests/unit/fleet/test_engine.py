"""The whole per-vehicle pipeline: out-of-order and duplicate input gives the in-order result."""

import random

from rules.fleet import alerts as A
from rules.fleet import engine as E
from rules.fleet.registry import apply_change, parse_registry

from .helpers import T0, cfg, fix, north

C = cfg(allowed_lateness_s=30, overspeed_min_duration_s=5)
REG = parse_registry({"fleets": [{"id": "f1", "name": "F", "speed_limit_kmh": 90}],
                      "vehicles": [{"id": "v1", "name": "V", "fleet_id": "f1"}]}, "test")


def script():
    """Accelerate, 20 s at 110 km/h (limit 90), brake hard, stop for 10 min: 1 Hz."""
    speeds = [min(100.0, 30 + 10 * t) for t in range(8)] + [110.0] * 20 + [90, 70, 50, 30, 10, 0] + [0.0] * 600
    pos, out = 0.0, []
    for t, v in enumerate(speeds):
        out.append(fix(t, v, lat=north(pos), ignition=True, rpm=2000.0 if v else 800.0))
        pos += v / 3.6
    return out


def run(arrivals):
    state, alerts, fixes, trips = E.VehicleState(), [], [], []
    for f, arrival in arrivals:
        state, out = E.on_fix(state, f, arrival, REG, C)
        alerts += out.alerts
        fixes += out.fixes
        trips += out.trips
    state, out = E.on_tick(state, "v1", arrivals[-1][1] + 3_600_000, REG, C)
    return state, alerts + out.alerts, fixes + out.fixes, trips + out.trips


def test_in_order_script_gives_expected_alerts():
    fixes = script()
    _, alerts, released, _ = run([(f, f.ts_ms + 300) for f in fixes])
    types = [a.type for a in alerts]
    assert types.count(A.OVERSPEED) == 1 and types.count(A.OVERSPEED_END) == 1
    assert types.count(A.HARSH_BRAKING) == 1  # 20 km/h per second = 5.6 m/s^2, one episode
    assert types.count(A.IDLE) == 1 and A.DEVICE_OFFLINE in types
    overspeed = next(a for a in alerts if a.type == A.OVERSPEED)
    assert overspeed.threshold == 90 and overspeed.ts == T0 + 12_000  # 100 km/h from t=7, 5 s later
    assert len(released) == len(fixes) and not any(p.flag for p in released)


def test_shuffled_and_duplicated_within_lateness_gives_the_same_alerts():
    fixes = script()
    rng = random.Random(7)
    arrivals = []
    for f in fixes:
        arrivals.append((f, f.ts_ms + rng.randint(0, 20_000)))  # up to 20 s network / buffering delay
        if rng.random() < 0.1:
            arrivals.append((f, f.ts_ms + rng.randint(0, 20_000)))  # QoS 1 redelivery
    arrivals.sort(key=lambda x: x[1])
    ref = run([(f, f.ts_ms + 300) for f in fixes])
    got = run(arrivals)
    key = lambda alerts: sorted((a.alert_id, a.type) for a in alerts if a.type != A.DEVICE_OFFLINE)
    assert key(got[1]) == key(ref[1])
    assert got[0].reorder.duplicates > 0 and got[0].reorder.late == 0
    assert [p.fix.ts_ms for p in got[2]] == [f.ts_ms for f in fixes]


def test_very_late_fix_is_kept_flagged_and_makes_no_false_alert():
    fixes = [fix(t, 80, lat=north(t * 22.2), ignition=True) for t in range(0, 120)]
    stray = fix(10.5, 0, lat=north(233), ignition=True)  # a stale 0 km/h fix, 110 s late
    arrivals = [(f, f.ts_ms) for f in fixes] + [(stray, fixes[-1].ts_ms + 1000)]
    state, alerts, released, _ = run(arrivals)
    assert [p.flag for p in released if p.fix.ts_ms == stray.ts_ms] == ["late"]
    assert not [a for a in alerts if a.type in (A.HARSH_BRAKING, A.HARSH_ACCELERATION)]
    assert state.reorder.late == 1


def test_geofence_speed_limit_and_live_registry_change():
    zone = ('{"type": "Feature", "properties": {"id": "z", "kind": "zone", "speed_limit_kmh": 30, "radius_m": 5000},'
            ' "geometry": {"type": "Point", "coordinates": [13.4, 52.52]}}')
    reg = apply_change(REG, "geofence:z", zone)
    state, alerts = E.VehicleState(), []
    for t in range(0, 120):
        state, out = E.on_fix(state, fix(t, 50, lat=north(t * 14), ignition=True), T0 + t * 1000, reg, C)
        alerts += out.alerts
    over = [a for a in alerts if a.type == A.OVERSPEED]
    assert len(over) == 1 and over[0].threshold == 30


def test_first_fix_emits_health_and_expiry():
    state, out = E.on_fix(E.VehicleState(), fix(0, 0, coolant_temp_c=90.0), T0, REG, C)
    assert out.fixes == [] and out.health == []  # the first fix waits for the lateness
    assert not E.expired(state, T0 + 1000)
    state, out = E.on_tick(state, "v1", T0 + 30_000, REG, C)
    assert [p.fix.ts_ms for p in out.fixes] == [T0] and [h.status for h in out.health] == ["ok"]
    assert E.expired(state, T0 + 8 * 86_400_000)


def test_replayed_backlog_is_not_split_by_wall_clock_ticks():
    """A trip replayed hours after it happened (backlog, from_beginning) stays one trip:
    ticks between its fixes must measure silence in processing time, not wall clock minus
    event time."""
    fixes = [fix(t, 40 if t < 400 else 0, lat=north(min(t, 400) * 11.1), ignition=t < 400) for t in range(0, 760)]
    hours_later = T0 + 3 * 3_600_000
    state, trips = E.VehicleState(), []
    for i, f in enumerate(fixes):
        arrival = hours_later + i * 20  # read back at 50 fixes/s
        state, out = E.on_fix(state, f, arrival, REG, C)
        trips += out.trips
        if i % 50 == 0:  # the flow's 1 s timer fires between fixes
            state, out = E.on_tick(state, "v1", arrival, REG, C)
            trips += out.trips
    state, out = E.on_tick(state, "v1", hours_later + 760 * 20 + 3_600_000, REG, C)
    trips += out.trips
    assert len(trips) == 1
    assert trips[0].start_ts == T0 and trips[0].duration_s == 400
    assert abs(trips[0].distance_km - 400 * 11.1 / 1000) < 0.01
