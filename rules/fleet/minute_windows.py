"""One vehicle's 1-minute stats windows, kept inside the analytics flow's bucket step.

Why: as a Bytewax ``fold_window`` keyed by vehicle, every fix crossed four more operators (one
item each), was routed to its vehicle's key (exchanged between workers in a cluster) and
activated a per-vehicle window with its own clock and timer - 1,000 window keys at 1 Hz cost
the flow more than its rules (issue 11). Here the window is a plain object per vehicle next to
its ``VehicleState`` and the bucket's one timer closes windows.

Same rules as ``fold_window(EventClock(ts, wait), TumblingWindower(1 min, epoch), ordered=True)``:
the watermark is the newest event time seen minus ``wait``, plus the wall time elapsed since that
fix was seen; a fix older than the watermark is late (not folded, reported); a window closes once
the watermark reaches its end. The reorder buffer releases a vehicle's fixes in event-time order,
so folding each one at once gives what Bytewax's ordered queue gives. Wall time is passed in
(no I/O); state is updated in place (the caller copies it for snapshots).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from contracts.telemetry import Telemetry

from .stats import MINUTE_MS, MinuteStats, fold_minute

Closed = tuple[int, MinuteStats]  # (window id = start ms // MINUTE_MS, stats)


@dataclass
class MinuteWindows:
    """Open windows by id and the event clock of one vehicle."""

    base_ms: int | None = None  # newest event time seen - wait; None: nothing seen yet
    seen_ms: int = 0  # wall time that fix was seen
    opened: dict[int, MinuteStats] = field(default_factory=dict)

    def watermark(self, wall_ms: int) -> float:
        if self.base_ms is None:
            return float("-inf")
        return self.base_ms + max(0, wall_ms - self.seen_ms)

    def add(self, fix: Telemetry, segment_m: float, wait_ms: int, wall_ms: int) -> bool:
        """Fold one fix seen at ``wall_ms``; False (nothing folded) when it is late for its window."""
        ts = fix.ts_ms
        base = ts - wait_ms
        if self.base_ms is None or base > self.watermark(wall_ms):
            self.base_ms, self.seen_ms = base, wall_ms
        elif ts < self.watermark(wall_ms):
            return False
        wid = ts // MINUTE_MS
        acc = self.opened.get(wid)
        self.opened[wid] = fold_minute(acc if acc is not None else MinuteStats(), fix, segment_m)
        return True

    def close(self, wall_ms: float) -> list[Closed]:
        """The windows the watermark at ``wall_ms`` has passed, oldest first; removed from the open ones."""
        if not self.opened:
            return []
        wm = self.watermark(int(wall_ms)) if wall_ms != float("inf") else wall_ms
        done = sorted(wid for wid in self.opened if (wid + 1) * MINUTE_MS <= wm)
        return [(wid, self.opened.pop(wid)) for wid in done]

    def close_all(self) -> list[Closed]:
        """Every open window (end of input, or the vehicle's state dropped), oldest first."""
        return self.close(float("inf"))

    def snapshot(self) -> MinuteWindows:
        # the stats are immutable: a copy of the dict is a copy later folds do not change
        out = copy.copy(self)
        out.opened = dict(self.opened)
        return out
