"""Per-vehicle reorder buffer: fixes leave in event-time order, duplicates are dropped.

A fix waits until the vehicle's newest event time is ``allowed_lateness_s`` ahead of it, or
until it waited ``reorder_hold_s`` of processing time (see ``flush_due``), so an older fix that
arrives meanwhile still takes its place. The fast path releases a fix at once when it follows
the last released one by less than ``reorder_fast_gap_s`` (a 1 Hz device in coverage pays no
latency); only the first fix and the fix after a gap wait, for ``reorder_hold_s`` (2 s), not
the whole lateness - a 30 s hold made every alert after a gap 30 s late (seen in the
end-to-end benchmark).

Exact duplicates (same ``ts_ms``) are dropped and counted. A fix older than one already
released is *late*: it is counted and passed on with ``flag="late"`` so it is stored, but
rules skip it (it would rewind their state machines and make false alerts). A fix stamped
more than ``max_future_s`` ahead of its arrival is passed on with ``flag="future"`` without
moving the watermark, so one bad device clock cannot mark all later fixes late.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from typing import Literal

from contracts.telemetry import Telemetry

from .config import FleetSettings

Flag = Literal["late", "future"]
MAX_FUTURE_S = 300.0


@dataclass(frozen=True)
class OrderedFix:
    """A fix released by the buffer; rules must skip it when ``flag`` is set."""

    fix: Telemetry
    flag: Flag | None = None

    @property
    def late(self) -> bool:
        return self.flag is not None


@dataclass(frozen=True)
class ReorderState:
    """Pending fixes as (ts, arrival_ms, fix) sorted by ts, plus counters for metrics."""

    pending: tuple[tuple[int, int, Telemetry], ...] = ()
    max_ts: int | None = None
    last_released_ts: int | None = None
    recent_ts: frozenset[int] = frozenset()
    duplicates: int = 0
    late: int = 0
    future: int = 0
    released: int = 0


def push(state: ReorderState, fix: Telemetry, arrival_ms: int, cfg: FleetSettings) -> tuple[ReorderState, list[OrderedFix]]:
    """Add one fix (``arrival_ms`` = processing time it arrived); return the fixes now released."""
    ts = fix.ts_ms
    if ts in state.recent_ts or any(p[0] == ts for p in state.pending):
        return replace(state, duplicates=state.duplicates + 1), []
    if ts > arrival_ms + MAX_FUTURE_S * 1000:
        return replace(state, future=state.future + 1), [OrderedFix(fix, "future")]
    if state.last_released_ts is not None and ts < state.last_released_ts:
        state = replace(state, late=state.late + 1, recent_ts=state.recent_ts | {ts})
        return state, [OrderedFix(fix, "late")]
    pending = list(state.pending)
    bisect.insort(pending, (ts, arrival_ms, fix), key=lambda p: p[0])
    max_ts = ts if state.max_ts is None else max(state.max_ts, ts)
    state = replace(state, pending=tuple(pending), max_ts=max_ts)
    return _release(state, cutoff_ts=max_ts - int(cfg.allowed_lateness_s * 1000), cfg=cfg)


def flush_due(state: ReorderState, now_ms: int, cfg: FleetSettings) -> tuple[ReorderState, list[OrderedFix]]:
    """Clock tick: release fixes that waited ``reorder_hold_s`` of processing time.

    Without it the last fixes before a vehicle goes quiet would wait for data that never comes.
    """
    waited = [p[0] for p in state.pending if p[1] <= now_ms - int(cfg.reorder_hold_s * 1000)]
    if not waited:
        return state, []
    return _release(state, cutoff_ts=max(waited), cfg=cfg)


def flush_all(state: ReorderState, cfg: FleetSettings) -> tuple[ReorderState, list[OrderedFix]]:
    """End of stream (tests, batch replays): release everything pending in order."""
    if not state.pending:
        return state, []
    return _release(state, cutoff_ts=state.pending[-1][0], cfg=cfg)


def _release(state: ReorderState, cutoff_ts: int, cfg: FleetSettings) -> tuple[ReorderState, list[OrderedFix]]:
    fast_ms = int(cfg.reorder_fast_gap_s * 1000)
    out: list[OrderedFix] = []
    last = state.last_released_ts
    i = 0
    for ts, _arrival, fix in state.pending:
        fast = fast_ms > 0 and last is not None and ts - last < fast_ms
        if ts > cutoff_ts and not fast:
            break
        out.append(OrderedFix(fix))
        last = ts
        i += 1
    if not out:
        return state, []
    horizon = last - int(cfg.dedup_horizon_s * 1000)
    recent = frozenset(t for t in state.recent_ts | {o.fix.ts_ms for o in out} if t >= horizon)
    return replace(state, pending=state.pending[i:], last_released_ts=last, recent_ts=recent,
                   released=state.released + len(out)), out
