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

The vehicle's 1-minute stats window lives here too (``rules/fleet/minute_windows.py``: the same
watermark, lateness and closing rules as the Bytewax ``fold_window`` with an ``EventClock`` it
replaced), so no fix becomes a Bytewax item after this step: the step emits closed windows
(``Output.minutes``) and fixes too late for theirs (``Output.window_late``). Windows close after
a batch and on the bucket's timer (up to one tick after their watermark passed), and all of them
at end of input; a vehicle's windows are closed when its state is dropped.

A vehicle always hashes to the same bucket, whatever the number of Kafka partitions or
workers, so a rescaled cluster finds every vehicle's state where it was. The snapshot is
``{vehicle_id: (a copy of its VehicleState, a copy of its windows)}`` (a snapshot of the older
``{vehicle_id: VehicleState}`` form still resumes, without windows); a vehicle is dropped from it after ``ttl_s``
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
from rules.fleet.minute_windows import MinuteWindows
from rules.fleet.registry import Registry
from rules.fleet.stream_clock import StreamClock

BUCKETS = 64  # more than workers x processes will ever be here; fewer keys = fewer per-key calls
Fix = tuple[Telemetry, int]  # (fix, arrival ms)
BucketSnapshot = dict[str, tuple[engine.VehicleState, MinuteWindows | None]]
LegacySnapshot = dict[str, engine.VehicleState]  # before the windows moved into the step


def window_wait(cfg: FleetSettings, tick: timedelta) -> timedelta:
    """How long the 1-minute windows wait for late fixes: a fix held by the reorder buffer reaches
    the window up to the (adapted) hold + one tick after a newer fix did, so waiting less would
    close windows without it."""
    return timedelta(seconds=max(cfg.reorder_hold_s, cfg.reorder_hold_max_s) + tick.total_seconds() + 2.0)


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

    def __init__(self, resume: BucketSnapshot | LegacySnapshot | None, registry: Callable[[], Registry], cfg: FleetSettings,
                 tick: timedelta, ttl_s: float, clock: StreamClock, wall_ms: Callable[[], int] = wall_clock_ms,
                 wait: timedelta | None = None) -> None:
        self._states: dict[str, engine.VehicleState] = {}
        self._windows: dict[str, MinuteWindows] = {}
        for vid, kept in (resume or {}).items():
            if isinstance(kept, tuple):
                self._states[vid] = kept[0]
                if kept[1] is not None:
                    self._windows[vid] = kept[1]
            else:
                self._states[vid] = kept
        self._wait_ms = int((wait if wait is not None else window_wait(cfg, tick)).total_seconds() * 1000)
        self._registry = registry
        self._cfg = cfg
        self._tick = tick
        self._ttl_s = ttl_s
        self._clock = clock
        self._wall_ms = wall_ms
        self._next = datetime.now(UTC) + tick

    def on_item(self, value: list[Fix]) -> tuple[list[engine.Output], bool]:
        reg, cfg, states, out = self._registry(), self._cfg, self._states, engine.Output()
        wall = self._wall_ms()  # the windows' system time: once per batch, as Bytewax's EventClock
        for fix, arrival_ms in value:
            self._clock.observe(arrival_ms, self._wall_ms())
            st = states.get(fix.vehicle_id)
            states[fix.vehicle_id], o = engine.on_fix(st if st is not None else engine.VehicleState(), fix, arrival_ms, reg, cfg)
            self._fold(fix.vehicle_id, o, wall)
            out.extend(o)
        for vid in {fix.vehicle_id for fix, _ in value}:
            self._close(vid, wall, out)
        return [out], StatefulLogic.RETAIN

    def _fold(self, vid: str, o: engine.Output, wall: int) -> None:
        """The fixes the rules released into the vehicle's windows; the late ones into ``o.window_late``."""
        for pf in o.fixes:
            if pf.flag is None:
                w = self._windows.get(vid)
                if w is None:
                    w = self._windows[vid] = MinuteWindows()
                if not w.add(pf.fix, pf.segment_m, self._wait_ms, wall):
                    o.window_late.append(pf)

    def _close(self, vid: str, wall: int | None, out: engine.Output) -> None:
        """Closed windows of ``vid`` into ``out.minutes``: those the watermark passed, all with ``wall`` None."""
        w = self._windows.get(vid)
        if w is None:
            return
        closed = w.close_all() if wall is None else w.close(wall)
        out.minutes += [(vid, wid, stats) for wid, stats in closed]
        if wall is None or not w.opened:
            del self._windows[vid]

    def on_notify(self) -> tuple[list[engine.Output], bool]:
        self._next = datetime.now(UTC) + self._tick
        if not self._states:
            return [], StatefulLogic.DISCARD
        wall, out = self._wall_ms(), engine.Output()
        for vid in list(self._windows):
            self._close(vid, wall, out)
        now_ms = self._clock.now(self._wall_ms())
        if now_ms is None:
            return [out], StatefulLogic.RETAIN
        reg, cfg = self._registry(), self._cfg
        for vid in list(self._states):
            st, o = engine.on_tick(self._states[vid], vid, now_ms, reg, cfg)
            self._fold(vid, o, wall)
            out.extend(o)
            if engine.expired(st, now_ms, self._ttl_s):
                del self._states[vid]
                self._close(vid, None, out)
            else:
                self._states[vid] = st
                self._close(vid, wall, out)
        return [out], StatefulLogic.DISCARD if not self._states else StatefulLogic.RETAIN

    def on_eof(self) -> tuple[list[engine.Output], bool]:
        """End of input closes every window, as Bytewax's windows do at EOF."""
        out = engine.Output()
        for vid in list(self._windows):
            self._close(vid, None, out)
        return [out], StatefulLogic.RETAIN

    def notify_at(self) -> datetime:
        return self._next

    def snapshot(self) -> BucketSnapshot:
        # the engine and the windows update in place; Bytewax wants a snapshot later calls do not change
        windows = self._windows
        return {vid: (engine.frozen_copy(st), w.snapshot() if (w := windows.get(vid)) is not None else None)
                for vid, st in self._states.items()}
