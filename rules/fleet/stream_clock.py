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

One object per process, passed explicitly to every vehicle's logic; no I/O (the caller passes
wall time), a lock because Bytewax workers are threads of one process.
"""

from __future__ import annotations

import threading
from collections import deque


class StreamClock:
    """Stream time from record arrivals; see the module docstring for why these rules."""

    def __init__(self, grace_ms: int, window_ms: int = 60_000, bucket_ms: int = 1_000) -> None:
        if grace_ms < 0 or window_ms <= 0 or bucket_ms <= 0:
            raise ValueError("grace_ms >= 0, window_ms > 0 and bucket_ms > 0 required")
        self._grace_ms = grace_ms
        self._window_ms = window_ms
        self._bucket_ms = bucket_ms
        self._started_ms: int | None = None
        # per wall-time bucket: the least (arrival - seen) of the records seen in it
        self._buckets: deque[tuple[int, int]] = deque()
        self._newest: tuple[int, int] | None = None  # (newest arrival, wall time it was seen)
        self._lock = threading.Lock()

    def observe(self, arrival_ms: int, wall_ms: int) -> None:
        """A record with this arrival time was seen at ``wall_ms``."""
        offset = arrival_ms - wall_ms
        bucket = wall_ms // self._bucket_ms
        with self._lock:
            if self._started_ms is None:
                self._started_ms = wall_ms
            if self._newest is None or arrival_ms > self._newest[0]:
                self._newest = (arrival_ms, wall_ms)
            if self._buckets and self._buckets[-1][0] >= bucket:
                last_bucket, least = self._buckets[-1]
                self._buckets[-1] = (last_bucket, min(least, offset))
            else:
                self._buckets.append((bucket, offset))
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
            recent = [least for bucket, least in self._buckets if bucket >= oldest]
            if recent:
                return wall_ms + min(recent)
            arrival, seen = self._newest
            return arrival + max(0, wall_ms - seen)
