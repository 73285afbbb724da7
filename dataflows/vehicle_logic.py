"""The Bytewax stateful step of one vehicle: ``rules.fleet.engine`` driven by fixes and a timer.

Fixes go to ``engine.on_fix``; every ``tick_interval`` of wall-clock time Bytewax calls
``on_notify`` (even when no data arrives at all), which runs ``engine.on_tick``: offline
detection, trips that end because the vehicle went quiet, fixes that waited out the allowed
lateness. The timer's "now" is the process's ``StreamClock`` (advanced here with every
record's arrival time), not the wall clock, so reading a backlog after downtime does not make
every vehicle offline; while the clock says "wait" (just started, nothing read yet) the tick
does nothing. The state snapshot is ``(vehicle_id, a copy of the VehicleState)`` (the engine updates it in place); it is dropped after
``ttl_s`` without data, or once the vehicle left the registry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bytewax.operators import StatefulLogic

from contracts.telemetry import Telemetry
from rules.fleet import engine
from rules.fleet.config import FleetSettings
from rules.fleet.registry import Registry
from rules.fleet.stream_clock import StreamClock

Snapshot = tuple[str | None, engine.VehicleState]


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class VehicleLogic(StatefulLogic[tuple[Telemetry, int], engine.Output, Snapshot]):
    """One vehicle's state; ``registry`` is called on every fix and tick because it changes live."""

    def __init__(self, resume: Snapshot | None, registry: Callable[[], Registry], cfg: FleetSettings,
                 tick: timedelta, ttl_s: float, clock: StreamClock,
                 wall_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._vehicle_id, self._state = resume or (None, engine.VehicleState())
        self._registry = registry
        self._cfg = cfg
        self._tick = tick
        self._ttl_s = ttl_s
        self._clock = clock
        self._wall_ms = wall_ms
        self._next = datetime.now(UTC) + tick

    def on_item(self, value: tuple[Telemetry, int]) -> tuple[list[engine.Output], bool]:
        fix, arrival_ms = value
        self._clock.observe(arrival_ms, self._wall_ms())
        self._vehicle_id = fix.vehicle_id
        self._state, out = engine.on_fix(self._state, fix, arrival_ms, self._registry(), self._cfg)
        return [out], StatefulLogic.RETAIN

    def on_notify(self) -> tuple[list[engine.Output], bool]:
        self._next = datetime.now(UTC) + self._tick
        if self._vehicle_id is None:
            return [], StatefulLogic.DISCARD
        now_ms = self._clock.now(self._wall_ms())
        if now_ms is None:
            return [], StatefulLogic.RETAIN
        self._state, out = engine.on_tick(self._state, self._vehicle_id, now_ms, self._registry(), self._cfg)
        done = engine.expired(self._state, now_ms, self._ttl_s)
        return [out], StatefulLogic.DISCARD if done else StatefulLogic.RETAIN

    def notify_at(self) -> datetime:
        return self._next

    def snapshot(self) -> Snapshot:
        # the engine updates the state in place; Bytewax wants a snapshot later calls do not change
        return self._vehicle_id, engine.frozen_copy(self._state)
