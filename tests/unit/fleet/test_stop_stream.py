"""Stops as fixes arrive (rules.fleet.stops.step / tick, through the engine) equal the batch
detect_stops on the same fixes: hand-computed cases (defaults: 5 km/h, 300 s, 600 s gap)."""

from __future__ import annotations

import json

from contracts import alert as A
from contracts.stop import Stop
from contracts.telemetry import parse_telemetry
from rules.fleet import engine as E
from rules.fleet.registry import parse_registry
from rules.fleet.stops import Sample, StopParams, StopState, detect_stops, finish, sample_of, step, tick
from simulators.scenario_device import Device
from sinks.influx_points.fleet_analytics import stop_point

from .helpers import T0, cfg, fix, north

C = cfg(reorder_hold_s=0)
P = StopParams.of(C)
REG = parse_registry({"fleets": [{"id": "f1", "name": "F"}], "vehicles": [{"id": "v1", "name": "V", "fleet_id": "f1"}]}, "test")


def drive(seconds: range, speed: float = 30.0, **kw: object) -> list:
    return [fix(t, speed, lat=north(t * 8), ignition=True, rpm=2000.0, **kw) for t in seconds]  # type: ignore[arg-type]


def park(seconds: range, **kw: object) -> list:
    return [fix(t, 0.0, lat=north(1000), ignition=True, rpm=800.0, **kw) for t in seconds]  # type: ignore[arg-type]


def batch(fixes: list) -> list[Stop]:
    return detect_stops("v1", [sample_of(f) for f in fixes], speed_kmh=P.speed_kmh, min_duration_s=P.min_duration_s,
                        max_gap_s=P.max_gap_s)


def engine_stops(fixes: list, tick_every_s: int = 0, end_tick_ms: int | None = None) -> list[Stop]:
    """Every stop record the engine emits (arrival = event time), ticking each ``tick_every_s`` of event time."""
    state, out_stops, last_tick = E.VehicleState(), [], None
    for f in fixes:
        if tick_every_s and last_tick is not None:
            for t in range(last_tick + tick_every_s * 1000, f.ts_ms, tick_every_s * 1000):
                state, out = E.on_tick(state, "v1", t, REG, C)
                out_stops += out.stops
        state, out = E.on_fix(state, f, f.ts_ms, REG, C)
        out_stops += out.stops
        last_tick = f.ts_ms
        state, out = E.on_tick(state, "v1", f.ts_ms, REG, C)  # releases the fix (no lateness hold)
        out_stops += out.stops
    if end_tick_ms is not None:
        state, out = E.on_tick(state, "v1", end_tick_ms, REG, C)
        out_stops += out.stops
    return out_stops


def last_per_id(stops: list[Stop]) -> list[Stop]:
    by_id: dict[str, Stop] = {}
    for s in stops:
        by_id[s.stop_id] = s
    return sorted(by_id.values(), key=lambda s: s.start_ts)


def test_a_stop_of_seven_minutes_with_the_engine_idling():
    fixes = drive(range(0, 180, 60)) + park(range(180, 600, 60)) + drive(range(600, 900, 60))
    want = [Stop("v1", T0 + 180_000, T0 + 600_000, north(1000), fix().lon, 420.0, False, fleet_id="f1")]
    assert engine_stops(fixes) == want  # ended by the first moving fix, with the vehicle's fleet
    assert [s.__class__(**{**s.__dict__, "fleet_id": "f1"}) for s in batch(fixes)] == want
    assert want[0].duration_s == 420.0


def test_a_pause_shorter_than_the_minimum_is_no_stop():
    fixes = drive(range(0, 180, 60)) + park(range(180, 420, 60)) + drive(range(420, 900, 60))  # 240 s < 300 s
    assert engine_stops(fixes) == batch(fixes) == []


def test_ignition_off_is_stopped_at_any_speed_and_not_idle():
    # 10 km/h (above 5) with the ignition off: a towed vehicle, or a speed glitch; the engine is off
    off = [fix(t, 10.0, lat=north(1000), ignition=False) for t in range(120, 720, 60)]
    fixes = drive(range(0, 120, 60)) + off + drive(range(720, 900, 60))
    got = engine_stops(fixes)
    assert [(s.start_ts - T0, s.end_ts - T0, s.idle_s, s.ignition_off, s.ongoing) for s in got] == [(120_000, 720_000, 0.0, True, False)]
    assert [(s.start_ts, s.end_ts, s.idle_s, s.ignition_off) for s in batch(fixes)] == [(s.start_ts, s.end_ts, s.idle_s, s.ignition_off)
                                                                                       for s in got]


def test_a_silent_vehicle_is_announced_ongoing_then_replaced_by_its_final_stop():
    # moving at 300 s, then nothing for 20 min (> 600 s gap): the gap is the stop, from the last fix
    fixes = drive(range(0, 360, 60)) + drive(range(1500, 1800, 60))
    got = engine_stops(fixes, tick_every_s=10)
    announced = Stop("v1", T0 + 300_000, T0 + 300_000, north(300 * 8), fix().lon, 0.0, False, ongoing=True, fleet_id="f1")
    final = Stop("v1", T0 + 300_000, T0 + 1_500_000, north(300 * 8), fix().lon, 0.0, False, fleet_id="f1")
    assert got == [announced, final]  # announced once (first tick past 600 s of silence), not every tick
    assert announced.stop_id == final.stop_id
    assert [(s.start_ts, s.end_ts, s.idle_s, s.ongoing) for s in last_per_id(got)] == [
        (s.start_ts, s.end_ts, s.idle_s, s.ongoing) for s in batch(fixes)]


def test_a_parked_vehicle_gone_silent_is_the_batch_ongoing_stop():
    fixes = drive(range(0, 120, 60)) + park(range(120, 600, 60))  # parked 8 min, then the device sleeps
    got = engine_stops(fixes, tick_every_s=30, end_tick_ms=T0 + 3_600_000)
    assert len(got) == 1 and got[0].ongoing and (got[0].start_ts - T0, got[0].end_ts - T0, got[0].idle_s) == (120_000, 540_000, 420.0)
    assert [(s.start_ts, s.end_ts, s.idle_s, s.ongoing) for s in batch(fixes)] == [(s.start_ts, s.end_ts, s.idle_s, s.ongoing) for s in got]


def test_batch_is_the_step_folded_over_the_fixes():
    samples = [Sample(T0 + t * 1000, 52.5, 13.4, v, ign) for t, v, ign in
               [(0, 30, True), (60, 0, True), (60, 30, True), (400, 0, True), (500, 0, None), (900, 40, True), (2000, 0, False), (2400, 0, False)]]
    state, streamed = StopState(), []
    for s in samples:
        state, ended = step(state, s, "v1", P)
        streamed += ended
    assert streamed + finish(state, "v1", P) == detect_stops("v1", samples, speed_kmh=5, min_duration_s=300, max_gap_s=600)
    # 60 -> 900 (a duplicate timestamp ignored; idle 60 -> 400 -> 500 after fixes with the ignition on, 500 -> 900 not: unknown)
    # and 900 -> 2400 ongoing (the gap makes 900 its start, then ignition off)
    assert [(s.start_ts - T0, s.end_ts - T0, s.idle_s, s.ignition_off, s.ongoing) for s in streamed + finish(state, "v1", P)] == [
        (60_000, 900_000, 440.0, False, False), (900_000, 2_400_000, 0.0, True, True)]


def test_tick_waits_for_the_gap_and_announces_once():
    state, _ = step(StopState(), Sample(T0, 52.5, 13.4, 0.0, True), "v1", P)
    assert tick(state, "v1", T0 + 600_000, P) == (state, [])  # not more than the gap yet
    state2, out = tick(state, "v1", T0 + 600_001, P)
    assert len(out) == 1 and out[0].ongoing and state2.announced
    assert tick(state2, "v1", T0 + 900_000, P) == (state2, [])


def test_record_and_point():
    s = Stop("v1", T0, T0 + 420_000, 52.5, 13.4, 60.0, True, place="Berlin, Berlin, DE", fleet_id="f1")
    d = json.loads(s.to_json())
    assert d["stop_id"] == s.stop_id and d["duration_s"] == 420.0 and Stop.from_dict(d) == s
    assert Stop("v1", T0, T0 + 1, 0, 0, 0, False).stop_id == s.stop_id  # id from vehicle and start only
    line = stop_point(s).to_line_protocol()
    assert line.startswith("stops,fleet_id=f1,vehicle_id=v1 ") and line.endswith(f" {T0}")  # ms precision
    assert "duration_s=420" in line and "ignition_off=true" in line and 'place="Berlin, Berlin, DE"' in line
    assert f"start_ms={T0}i" in line and "ongoing=false" in line


def _to_saint_denis() -> Device:
    """Paris - Saint-Denis at 60 km/h (a fix a second), then 7 minutes parked with the key off, a fix every 30 s."""
    d = Device("v1", T0, 48.8530, 2.3499)
    d.emit()
    d.drive_to(48.9362, 2.3574, kmh=60)
    d.switch(False)
    d.wait(420, every_s=30)
    return d


def test_a_burst_of_old_fixes_is_not_silence():
    """Half an hour of event time arriving in a second (a backlog, a replay): while fixes wait in the
    reorder buffer the newest arrival is far ahead of the last released fix; no stop is announced from
    that (before the fix: a 1 s 'ongoing' stop in the middle of a drive)."""
    c = cfg(trip_max_gap_s=60, offline_timeout_s=3600)
    d = _to_saint_denis()
    d.switch(True)
    d.drive_to(48.8530, 2.3499, kmh=60)
    d.switch(False)
    d.wait(420, every_s=30)
    now = T0 + 3_600_000
    got = _feed(d.messages, c, [now + i // 3 for i in range(len(d.messages))], tail_ticks=120).stops  # ~3 fixes per ms, 2 min of silence
    want = detect_stops("v1", [Sample(m.ts_ms, m.payload["lat"], m.payload["lon"], m.payload["speed_kmh"], m.payload["ignition"],
                                      m.payload.get("rpm")) for m in d.messages], speed_kmh=5, min_duration_s=300, max_gap_s=60)
    assert [(s.start_ts, s.end_ts, s.idle_s, s.ignition_off, s.ongoing) for s in got] == [
        (s.start_ts, s.end_ts, s.idle_s, s.ignition_off, s.ongoing) for s in want]
    assert [s.ongoing for s in got] == [False, True]


def _feed(messages: list, c: object, arrivals: list[int], tail_ticks: int = 1200) -> E.Output:
    """Every message through on_fix at its arrival, the timer every second between, then silence."""
    state, got, next_tick = E.VehicleState(), E.Output(), arrivals[0] + 1000
    for m, arrival in zip(messages, arrivals, strict=True):
        while next_tick <= arrival:
            state, out = E.on_tick(state, "v1", next_tick, REG, c)  # type: ignore[arg-type]
            got.extend(out)
            next_tick += 1000
        state, out = E.on_fix(state, parse_telemetry(m.topic, json.dumps(m.payload).encode(), arrival, max_age_ms=10**12),
                              arrival, REG, c)  # type: ignore[arg-type]
        got.extend(out)
    for _ in range(tail_ticks):
        state, out = E.on_tick(state, "v1", next_tick, REG, c)  # type: ignore[arg-type]
        got.extend(out)
        next_tick += 1000
    return got


def test_a_burst_of_old_fixes_keeps_trips_and_motions():
    """A drive reported every 10 s, arriving as a burst: every fix waits in the reorder buffer for
    the hold, the newest arrival runs far ahead of the last released fix, and the timer must not read
    that as the vehicle's silence (before the fix the gap rule ended the trip at 900 s instead of
    960 s; in the scripted-trips integration test the same chopped trips into extra or missing
    motion events). Same trips and motions as the fixes read live."""
    c = cfg(trip_max_gap_s=60, offline_timeout_s=3600)
    d = _to_saint_denis()
    # a fix every 10 s: each follows a gap longer than the fast path's, so each waits the hold
    messages = [m for m in d.messages if (m.ts_ms - T0) % 10_000 == 0]
    now = T0 + 3_600_000
    live = _feed(messages, c, [m.ts_ms + 200 for m in messages])
    burst = _feed(messages, c, [now + 20 * i for i in range(len(messages))])  # 50 fixes/s: the timer runs within it

    def motions(o: E.Output) -> list[tuple[str, int]]:
        return [(a.type, a.ts) for a in o.alerts if a.type in (A.MOTION_STARTED, A.MOTION_STOPPED)]

    assert len(live.trips) == 1 and [t for t, _ in motions(live)] == [A.MOTION_STARTED, A.MOTION_STOPPED]
    assert [(t.start_ts, t.end_ts, t.distance_km) for t in burst.trips] == [(t.start_ts, t.end_ts, t.distance_km) for t in live.trips]
    assert motions(burst) == motions(live)
