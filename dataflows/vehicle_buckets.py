"""The Bytewax stateful step of a bucket of vehicles: ``rules.fleet.engine`` per vehicle, a batch at a time.

Why: Bytewax pays a per-item cost for every item of every operator, and per key for every
activation of a stateful step and every timer. Keyed by vehicle, the analytics flow paid it for
each fix and each vehicle's tick every second (issue 11). Here vehicles are hashed (crc32, the
same in every process and run) into ``BUCKETS`` keys; the flow hands the step one list of fixes
per bucket per source batch, and the step keeps a ``VehicleState`` per vehicle inside it. So a
vehicle's fixes still go through ``engine.on_fix`` one by one, in the order they were read, and
its ticks through ``engine.on_tick`` with the same stream-clock "now" - the same alerts, ids and
bytes as the per-vehicle step (``vehicle_logic.py``), which stays the reference the restart tests
drive. The timer is one per bucket: every ``tick`` it ticks each vehicle of the bucket.

A vehicle always hashes to the same bucket, whatever the number of Kafka partitions or
workers, so a rescaled cluster finds every vehicle's state where it was. The snapshot is
``{vehicle_id: a copy of its VehicleState}``; a vehicle is dropped from it after ``ttl_s``
without data, or once it left the registry, and an empty bucket is discarded.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bytewax.operators import StatefulLogic

from contracts.telemetry import Telemetry
from dataflows.vehicle_logic import wall_clock_ms
from rules.fleet import engine
from rules.fleet.config import FleetSettings
from rules.fleet.registry import Registry
from rules.fleet.stream_clock import StreamClock

BUCKETS = 64  # more than workers x processes will ever be here; fewer keys = fewer per-key calls
Fix = tuple[Telemetry, int]  # (fix, arrival ms)
BucketSnapshot = dict[str, engine.VehicleState]


def bucket_of(vehicle_id: str) -> str:
    """The bucket key of a vehicle: stable across processes and runs (not ``hash``, which is salted)."""
    return f"b{zlib.crc32(vehicle_id.encode()) % BUCKETS:02d}"


def by_bucket(items: list[Fix]) -> list[tuple[str, list[Fix]]]:
    """A batch of fixes grouped by bucket, each group in the batch's order."""
    groups: dict[str, list[Fix]] = {}
    for item in items:
        groups.setdefault(bucket_of(item[0].vehicle_id), []).append(item)
    return list(groups.items())


class BucketLogic(StatefulLogic[list[Fix], engine.Output, BucketSnapshot]):
    """The vehicles of one bucket; ``registry`` is called per batch and tick because it changes live."""

    def __init__(self, resume: BucketSnapshot | None, registry: Callable[[], Registry], cfg: FleetSettings,
                 tick: timedelta, ttl_s: float, clock: StreamClock, wall_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._states: dict[str, engine.VehicleState] = dict(resume or {})
        self._registry = registry
        self._cfg = cfg
        self._tick = tick
        self._ttl_s = ttl_s
        self._clock = clock
        self._wall_ms = wall_ms
        self._next = datetime.now(UTC) + tick

    def on_item(self, value: list[Fix]) -> tuple[list[engine.Output], bool]:
        reg, cfg, states, out = self._registry(), self._cfg, self._states, engine.Output()
        for fix, arrival_ms in value:
            self._clock.observe(arrival_ms, self._wall_ms())
            st = states.get(fix.vehicle_id)
            states[fix.vehicle_id], o = engine.on_fix(st if st is not None else engine.VehicleState(), fix, arrival_ms, reg, cfg)
            out.extend(o)
        return [out], StatefulLogic.RETAIN

    def on_notify(self) -> tuple[list[engine.Output], bool]:
        self._next = datetime.now(UTC) + self._tick
        if not self._states:
            return [], StatefulLogic.DISCARD
        now_ms = self._clock.now(self._wall_ms())
        if now_ms is None:
            return [], StatefulLogic.RETAIN
        reg, cfg, out = self._registry(), self._cfg, engine.Output()
        for vid in list(self._states):
            st, o = engine.on_tick(self._states[vid], vid, now_ms, reg, cfg)
            out.extend(o)
            if engine.expired(st, now_ms, self._ttl_s):
                del self._states[vid]
            else:
                self._states[vid] = st
        return [out], StatefulLogic.DISCARD if not self._states else StatefulLogic.RETAIN

    def notify_at(self) -> datetime:
        return self._next

    def snapshot(self) -> BucketSnapshot:
        # the engine updates states in place; Bytewax wants a snapshot later calls do not change
        return {vid: engine.frozen_copy(st) for vid, st in self._states.items()}
