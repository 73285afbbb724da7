"""Every finished trip reaches its vehicle's daily safety score - also the trips the timer ends
(a parked vehicle sends nothing, so its trip closes on a tick). Before 2026-12-03 only trips a
fix ended were scored, and the demo's "Daily safety score" stayed empty for every role."""

from __future__ import annotations

import json

from contracts.day_score import DayScore
from rules.fleet.engine import Output

from .test_vehicle_buckets import Driver, records


def test_each_trip_the_timer_ends_updates_its_day() -> None:
    d = Driver(True, 50)
    days: list[DayScore] = []
    ticking = False
    ended_on_ticks = 0
    take, tick_until = d.take, d.tick_until

    def keep_days(outs: list[Output]) -> None:
        nonlocal ended_on_ticks
        for o in outs:
            days.extend(o.days)
            ended_on_ticks += len(o.trips) if ticking else 0
        take(outs)

    def ticks(to_ms: int) -> None:
        nonlocal ticking
        ticking = True
        tick_until(to_ms)
        ticking = False

    d.take, d.tick_until = keep_days, ticks  # type: ignore[method-assign]
    items = records()
    # one vehicle's device dies while it drives: nothing ends that trip but the timer (trip_max_gap_s)
    moving = [f for f, _ in items if f.speed_kmh and f.speed_kmh > 20]
    busiest = max({f.vehicle_id for f in moving}, key=lambda v: sum(f.vehicle_id == v for f in moving))
    dying = [f for f in moving if f.vehicle_id == busiest][-1]  # its last fix under way
    items = [(f, at) for f, at in items if f.vehicle_id != dying.vehicle_id or f.ts_ms <= dying.ts_ms]
    d.wall = items[0][1] - 1000
    d.read(items)
    d.tick_until(items[-1][1] + 3_600_000)  # the stream goes quiet: the timer ends the open trips
    trips = [json.loads(t) for t in d.trips]
    assert ended_on_ticks >= 1  # the case under test: a trip the timer ended
    assert len(days) == len(trips)  # one updated day record per finished trip
    newest = {(day.vehicle_id, day.day): day for day in days}
    per_vehicle: dict[str, int] = {}
    for t in trips:
        per_vehicle[t["vehicle_id"]] = per_vehicle.get(t["vehicle_id"], 0) + 1
    assert {v: sum(day.trips for (vid, _), day in newest.items() if vid == v) for v in per_vehicle} == per_vehicle
    assert all(0 <= day.score <= 100 and day.distance_km > 0 for day in newest.values())
