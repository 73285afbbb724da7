"""The "now" of the telemetry stream, for the per-vehicle timers (offline, quiet trips, reorder flush).

Arrival times are the Kafka record timestamps (the MQTT receive time), so a vehicle's silence
must be measured on the same clock, not the wall clock: after analytics downtime the flow reads
a backlog whose arrivals are minutes or hours old, and "wall now - last arrival" would call every
vehicle offline before its backlog is read. The clock is advanced with each record's arrival
and the wall time it was seen; ``now(wall)`` is an arrival plus the wall time elapsed since it
was seen. So it follows the backlog's time while the flow catches up, and the wall clock once
caught up or when the whole stream is quiet.

Which arrival: the newest one (``newest + elapsed``) is right for one partition, but a process
reads several, and after a restart a light partition catches up long before a busy one - its
newest arrival would make the silent-looking vehicles of the busy partition "offline". So while
records keep coming, ``now`` is the *least* ``arrival + elapsed`` over the records seen in the
last ``window_ms`` of wall time: the slowest partition that feeds this process sets the pace.
The cost is that offline detection runs up to ``window_ms`` late after a catch-up; the alert's
``ts`` does not depend on when it is detected. With no record in the window (quiet stream),
``now`` is the newest arrival + elapsed. Until the first record is seen after start, ``now`` is
None (timers wait) for ``grace_ms`` - the backlog may not have been read yet - then the wall clock.

Stalls: a process starved of CPU (or paused by the OS) between two batches sees no record for
seconds while the backlog waits in Kafka; "arrival + elapsed" would then run ahead of the next
records - fixes flushed from the reorder buffer early, trips closed, vehicles called offline -
and a replay under load would give other alerts than the live run (seen in the crash-recovery
test while the demo loaded both cores). So the wall time elapsed after a record counts only
after a wait as long as that record's own delay (``seen - arrival``: how far behind the flow
is), at most ``stall_ms``: a live record (delay ~0.2 s) lets the clock run almost at once, a
backlog record holds it for ``stall_ms``. Each record bounds ``now`` by
``max(arrival, arrival + (wall - seen) - wait)``; stalls shorter than ``stall_ms`` during a catch-up
change nothing, and once the flow is caught up (or the ingest stopped with the flow behind) the
clock follows the wall again after at most ``stall_ms``.

One object per process, passed explicitly to every vehicle's logic; no I/O (the caller passes
wall time), a lock because Bytewax workers are threads of one process.
"""

from __future__ import annotations

import threading
from collections import deque


class StreamClock:
    """Stream time from record arrivals; see the module docstring for why these rules."""

    def __init__(self, grace_ms: int, window_ms: int = 60_000, bucket_ms: int = 1_000, stall_ms: int = 30_000) -> None:
        if grace_ms < 0 or window_ms <= 0 or bucket_ms <= 0 or stall_ms < 0:
            raise ValueError("grace_ms >= 0, window_ms > 0, bucket_ms > 0 and stall_ms >= 0 required")
        self._grace_ms = grace_ms
        self._window_ms = window_ms
        self._bucket_ms = bucket_ms
        self._stall_ms = stall_ms
        self._started_ms: int | None = None
        # per wall-time bucket: (bucket, least arrival, least offset) of the records seen in it, where a
        # record's offset is arrival - seen - wait; it bounds now(wall) by max(arrival, wall + offset)
        self._buckets: deque[tuple[int, int, int]] = deque()
        self._newest: tuple[int, int] | None = None  # (newest arrival, its offset)
        self._lock = threading.Lock()

    def observe(self, arrival_ms: int, wall_ms: int) -> None:
        """A record with this arrival time was seen at ``wall_ms``."""
        wait = min(max(0, wall_ms - arrival_ms), self._stall_ms)
        offset = arrival_ms - wall_ms - wait
        bucket = wall_ms // self._bucket_ms
        with self._lock:
            if self._started_ms is None:
                self._started_ms = wall_ms
            if self._newest is None or arrival_ms > self._newest[0]:
                self._newest = (arrival_ms, offset)
            if self._buckets and self._buckets[-1][0] >= bucket:
                last_bucket, least_arrival, least = self._buckets[-1]
                self._buckets[-1] = (last_bucket, min(least_arrival, arrival_ms), min(least, offset))
            else:
                self._buckets.append((bucket, arrival_ms, offset))
            oldest = (wall_ms - self._window_ms) // self._bucket_ms
            while self._buckets and self._buckets[0][0] < oldest:
                self._buckets.popleft()

    def now(self, wall_ms: int) -> int | None:
        """Stream time at ``wall_ms``; None while the timers must still wait (nothing seen, in the grace)."""
        with self._lock:
            if self._started_ms is None:
                self._started_ms = wall_ms
            if self._newest is None:
                return wall_ms if wall_ms - self._started_ms >= self._grace_ms else None
            oldest = (wall_ms - self._window_ms) // self._bucket_ms
            recent = [max(arrival, wall_ms + least) for bucket, arrival, least in self._buckets if bucket >= oldest]
            if recent:
                return min(recent)
            arrival, offset = self._newest
            return max(arrival, wall_ms + offset)
