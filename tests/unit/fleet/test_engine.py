"""The whole per-vehicle pipeline: out-of-order and duplicate input gives the in-order result."""

import json
import random
from dataclasses import replace

import pytest

from contracts import alert as A
from contracts.registry import Fleet
from rules.fleet import engine as E
from rules.fleet.registry import apply_change, parse_registry

from .helpers import T0, cfg, fix, north

C = cfg(overspeed_min_duration_s=5)
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


def run(arrivals, tick_ms: int | None = None):
    """Feed (fix, arrival) in order; with ``tick_ms``, the timer runs between arrivals as in the flow."""
    state, alerts, fixes, trips = E.VehicleState(), [], [], []
    next_tick = arrivals[0][1] + (tick_ms or 0)
    for f, arrival in arrivals:
        while tick_ms and next_tick <= arrival:
            state, out = E.on_tick(state, "v1", next_tick, REG, C)
            alerts, fixes, trips = alerts + out.alerts, fixes + out.fixes, trips + out.trips
            next_tick += tick_ms
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
    harsh = [(a.state, a.incident_id) for a in alerts if a.type == A.HARSH_BRAKING]
    assert [s for s, _ in harsh] == ["raised", "cleared"]  # 20 km/h per second = 5.6 m/s^2: one incident, quiet 30 s later
    assert harsh[0][1] == harsh[1][1]
    assert [a.state for a in alerts if a.type == A.IDLE] == ["raised"] and A.DEVICE_OFFLINE in types  # idling still
    overspeed = next(a for a in alerts if a.type == A.OVERSPEED)
    assert overspeed.threshold == 90 and overspeed.ts == T0 + 12_000  # 100 km/h from t=7, 5 s later
    assert len(released) == len(fixes) and not any(p.flag for p in released)


def test_shuffled_and_duplicated_within_the_hold_gives_the_same_alerts():
    """Network jitter and QoS 1 redeliveries within the reorder hold (2 s), the timer ticking each
    second as in the flow: the rules see every fix once, in order. (Until 2026-12-03 this ran
    without a timer and with 20 s delays, which only the event-time cutoff absorbed; the flow
    always ticks, so its tolerance was the hold all along - see rules/fleet/ordering.py.)"""
    fixes = script()
    rng = random.Random(7)
    arrivals = []
    for f in fixes:
        arrivals.append((f, f.ts_ms + rng.randint(0, 1_900)))  # network / buffering delay
        if rng.random() < 0.1:
            arrivals.append((f, f.ts_ms + rng.randint(0, 1_900)))  # QoS 1 redelivery
    arrivals.sort(key=lambda x: x[1])
    ref = run([(f, f.ts_ms + 300) for f in fixes], tick_ms=1000)
    got = run(arrivals, tick_ms=1000)
    def key(alerts):
        return sorted((a.alert_id, a.type) for a in alerts if a.type != A.DEVICE_OFFLINE)
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
    assert over[0].geofence_id == "z" and over[0].details["zone_name"] == "z"  # the zone whose limit applied


def test_overspeed_names_the_lowest_limit_zone_only_when_its_limit_applies():
    """Two nested circles (60 km/h in 5 km, 30 km/h "School" in 1 km) around the start, fleet
    limit 90: at 50 km/h the school's 30 applies (named); past 1 km north only the 60 zone, which
    50 km/h is under: one episode, both records naming the school."""
    def circle(gid, name, limit, radius):
        return (f'{{"type": "Feature", "properties": {{"id": "{gid}", "name": "{name}", "kind": "zone", "speed_limit_kmh": {limit:d}, '
                f'"radius_m": {radius:d}}}, "geometry": {{"type": "Point", "coordinates": [13.4, 52.52]}}}}')
    reg = apply_change(apply_change(REG, "geofence:wide", circle("wide", "Ring", 60, 5000)), "geofence:school", circle("school", "School", 30, 1000))
    state, alerts = E.VehicleState(), []
    for t in range(0, 150):  # 50 km/h = 13.9 m/s: leaves the school circle at t ~ 72 s
        state, out = E.on_fix(state, fix(t, 50, lat=north(t * 13.9), ignition=True), T0 + t * 1000, reg, C)
        alerts += out.alerts
    over = [a for a in alerts if a.type in (A.OVERSPEED, A.OVERSPEED_END)]
    assert [(a.type, a.geofence_id, a.details.get("zone_name"), a.threshold) for a in over] == [
        (A.OVERSPEED, "school", "School", 30), (A.OVERSPEED_END, "school", "School", 30)]


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


def drive_and_stop():
    """700 s at 40 km/h, then 700 s parked: one finished trip (at 1 Hz)."""
    return [fix(t, 40 if t < 700 else 0, lat=north(min(t, 700) * 11.1), ignition=t < 700) for t in range(0, 1400)]


def run_all(fixes, reg, c=C):
    state, outs = E.VehicleState(), E.Output()
    for f in fixes:
        state, out = E.on_fix(state, f, f.ts_ms + 300, reg, c)
        outs.extend(out)
    state, out = E.on_tick(state, "v1", fixes[-1].ts_ms + 3_600_000, reg, c)
    outs.extend(out)
    return state, outs


def test_a_rule_that_raises_costs_only_itself():
    """A fleet with a misspelt time zone (the registry refuses one now; built unchecked, as a
    registry restored from an older snapshot): scoring raises on the finished trip. Before, that
    exception stopped the whole flow; now the trip, the alerts and the health reports still come,
    and each failure is one error record."""
    ok = parse_registry({"fleets": [{"id": "f1", "name": "F", "speed_limit_kmh": 90}],
                         "vehicles": [{"id": "v1", "name": "V", "fleet_id": "f1"}]}, "test")
    bad_tz = replace(ok, fleets={"f1": Fleet.model_construct(id="f1", name="F", speed_limit_kmh=90, timezone="Europe/Berln")})
    fixes = drive_and_stop()
    ref_state, ref = run_all(fixes, REG)
    state, got = run_all(fixes, bad_tz)
    assert len(ref.trips) == 1 and len(ref.days) == 1 and ref.errors == []
    assert got.trips == ref.trips and got.alerts == ref.alerts and got.health == ref.health and got.fixes == ref.fixes
    assert got.days == [] and state.daily == E.VehicleState().daily  # scoring kept its state
    [err] = got.errors
    assert (err.rule, err.vehicle_id, err.error_type) == ("scoring", "v1", "ZoneInfoNotFoundError")
    assert err.reason == "rule_error: scoring: ZoneInfoNotFoundError: 'No time zone found with key Europe/Berln'"
    assert err.fix is not None and err.ts == err.fix.ts_ms == got.trips[0].end_ts + 300_000  # the fix that ended the trip


def test_a_failing_rule_keeps_its_previous_state_and_the_others_run(monkeypatch):
    """harsh computes its new state, then raises: its state must stay as before, every other rule still runs."""
    real = dict(E.RULES)["harsh"]

    def flaky(st, c):
        real(st, c)
        raise ValueError("bad accelerometer frame")

    monkeypatch.setattr(E, "RULES", tuple((n, flaky if n == "harsh" else r) for n, r in E.RULES))
    fixes = script()
    _, ref_alerts, _, _ = run([(f, f.ts_ms + 300) for f in fixes])
    state, outs = E.VehicleState(), E.Output()
    for f in fixes:
        state, out = E.on_fix(state, f, f.ts_ms + 300, REG, C)
        outs.extend(out)
    state, out = E.on_tick(state, "v1", fixes[-1].ts_ms + 3_600_000, REG, C)
    outs.extend(out)
    assert state.harsh == E.VehicleState().harsh
    harsh = {A.HARSH_BRAKING, A.HARSH_ACCELERATION, A.HARSH_CORNERING}
    assert outs.alerts == [a for a in ref_alerts if a.type not in harsh]
    assert len(outs.errors) == len(fixes)  # one per released fix, none lost
    assert {(e.rule, e.error_type, e.message) for e in outs.errors} == {("harsh", "ValueError", "bad accelerometer frame")}
    assert sorted(e.ts for e in outs.errors) == [f.ts_ms for f in fixes]
    dl = json.loads(outs.errors[0].dead_letter("fleet.telemetry").to_json())
    assert dl["reason"] == "rule_error: harsh: ValueError: bad accelerometer frame"
    assert json.loads(dl["payload"])["vehicle_id"] == "v1" and dl["source_topic"] == "fleet.telemetry"


def test_timer_steps_are_isolated_too(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("clock went backwards")

    state, _ = E.on_fix(E.VehicleState(), fix(0, 40, ignition=True), T0 + 300, REG, C)
    monkeypatch.setattr(E.offline, "tick", broken)
    state, out = E.on_tick(state, "v1", T0 + 30_000, REG, C)
    assert [p.fix.ts_ms for p in out.fixes] == [T0]  # the flush and the rules still ran
    assert [(e.rule, e.ts, e.fix) for e in out.errors] == [("offline", T0 + 30_000, None)]
    assert json.loads(json.loads(out.errors[0].dead_letter("t").to_json())["payload"])["rule"] == "offline"


def test_vehicle_deleted_while_its_fix_was_in_flight():
    """The flow checked the registry, then a tombstone removed the vehicle before on_fix: an error
    record, not a KeyError; on the next tick its waiting fixes become error records and its state goes."""
    state, _ = E.on_fix(E.VehicleState(), fix(0, 40, ignition=True), T0 + 300, REG, C)
    assert len(state.reorder.pending) == 1
    gone = apply_change(REG, "vehicle:v1", None)
    after, out = E.on_fix(state, fix(1, 40, ignition=True), T0 + 1300, gone, C)
    assert after == state and out.alerts == [] and out.fixes == []
    [err] = out.errors
    assert (err.rule, err.ts, err.received_at_ms) == ("registry", T0 + 1000, T0 + 1300)
    assert err.reason == "rule_error: registry: unknown_vehicle: vehicle not in registry"
    after, out = E.on_tick(state, "v1", T0 + 700_000, gone, C)  # past the offline timeout, too
    assert out.alerts == [] and out.fixes == []
    assert [(e.rule, e.fix.ts_ms) for e in out.errors] == [("registry", T0)]
    assert E.expired(after, T0 + 700_000)


def test_a_rule_part_that_is_no_state_field_is_an_error(monkeypatch):
    """A misspelt part would add an attribute to the state: the engine checks the fields once per fix."""
    from rules.fleet import engine as E

    def misspelt(st, c):
        return E._with(st, geofnce=st.geofence), None

    monkeypatch.setattr(E, "RULES", (*E.RULES, ("misspelt", misspelt)))
    with pytest.raises(TypeError, match="geofnce"):
        run([(f, f.ts_ms) for f in script()[:40]])
