"""Per-vehicle reorder buffer: fixes leave in event-time order, duplicates are dropped.

A fix waits until it waited the vehicle's hold (``reorder_hold_s`` at least) of processing time
(judged at each later arrival, and by ``flush_due`` on the timer), so an older fix that arrives
meanwhile still takes its place. Processing time alone decides, never how far the vehicle's
newest event time ran ahead: a device's buffered backlog arrives in one burst, the ingest's
workers (MQTT shared subscription, one fix each in turn) write it to Kafka interleaved, and an
event-time cutoff (the newest fix 30 s ahead, until 2026-12-03) released the first fixes of such a
burst before the older half of it had arrived - they were then skipped as late, which moved the
vehicle's events (seen in the journey test under load: a ``motion_started`` stamped one fix
later, with another id). ``reorder_max_pending`` bounds the buffer instead. The fast path releases a fix at once when it follows
the last released one by less than ``reorder_fast_gap_s`` (a 1 Hz device in coverage pays no
latency); only the first fix and the fix after a gap wait, for ``reorder_hold_s`` (2 s), not
the whole lateness - a 30 s hold made every alert after a gap 30 s late (seen in the
end-to-end benchmark).

The hold adapts to the link (``hold_ms``): every fix that arrives after a newer one is a
measurement of the vehicle's lateness (its arrival minus the arrival of the oldest newer fix);
the hold is the largest lateness seen within ``reorder_adapt_window_s`` plus a 250 ms margin,
never under ``reorder_hold_s`` nor over ``reorder_hold_max_s``. A vehicle on a clean link keeps
the 2 s; one whose fixes arrive up to 4 s out of order waits ~4.3 s and loses none of them.
``report`` gives the counters and the share of fixes skipped as late (``LinkStats``).

Exact duplicates (same ``ts_ms``) are dropped and counted: a fix is a duplicate of one pending or
released within ``dedup_horizon_s`` (a sorted tuple, looked up by bisection and cut at the
horizon by one slice per release: the frozenset rebuilt from every remembered timestamp on
every release was the engine's biggest cost, issue 11) or of a late fix (a small set). A fix older than one already
released is *late*: it is counted and passed on with ``flag="late"`` so it is stored, but
rules skip it (it would rewind their state machines and make false alerts). A fix stamped
more than ``max_future_s`` ahead of its arrival is passed on with ``flag="future"`` without
moving the watermark, so one bad device clock cannot mark all later fixes late.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Literal

from contracts.telemetry import Telemetry

from .config import FleetSettings

Flag = Literal["late", "future"]
MAX_FUTURE_S = 300.0
KEEP_ARRIVALS = 32  # newest (ts, arrival) pairs kept to measure the lateness of the next fixes
HOLD_MARGIN_MS = 250


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
    recent_ts: frozenset[int] = frozenset()  # late fixes' ts within the horizon (before 2026-12-02 also the released ones)
    released_ts: tuple[int, ...] = ()  # released ts within the dedup horizon, ascending
    duplicates: int = 0
    late: int = 0
    future: int = 0
    released: int = 0
    arrivals: tuple[tuple[int, int], ...] = ()  # (ts, arrival_ms) of the newest fixes, at most KEEP_ARRIVALS
    lateness: tuple[tuple[int, int], ...] = ()  # (arrival_ms, ms behind a newer fix) measurements, newest last
    reported_ms: int | None = None  # stream time of the last ``report``


def _with(state: ReorderState, **parts: Any) -> ReorderState:
    """``dataclasses.replace`` without re-running ``__init__`` (several per fix: a third of the buffer's cost)."""
    new = object.__new__(ReorderState)
    new.__dict__.update(state.__dict__, **parts)
    return new


def _ordered(fix: Telemetry, flag: Flag | None = None) -> OrderedFix:
    """``OrderedFix(fix, flag)`` without the frozen dataclass's ``__init__`` (one per released fix)."""
    new = object.__new__(OrderedFix)
    new.__dict__.update(fix=fix, flag=flag)
    return new


def _seen(state: ReorderState, ts: int) -> bool:
    """Already released within the horizon, flagged late, or pending: a duplicate."""
    released = state.released_ts
    if released and released[0] <= ts <= released[-1]:
        i = bisect.bisect_left(released, ts)
        if released[i] == ts:
            return True
    return ts in state.recent_ts or any(p[0] == ts for p in state.pending)


@dataclass(frozen=True)
class LinkStats:
    """A vehicle's ordering counters at stream time ``ts``: what its link costs the rules."""

    vehicle_id: str
    ts: int
    released: int  # fixes the rules saw
    late: int  # fixes skipped as late (older than one already released)
    duplicates: int
    future: int
    hold_ms: int  # the adapted reorder hold

    @property
    def late_share(self) -> float:
        """Share of the vehicle's fixes the rules skipped as late."""
        seen = self.released + self.late
        return self.late / seen if seen else 0.0


def hold_ms(state: ReorderState, now_ms: int, cfg: FleetSettings) -> int:
    """The reorder hold for this vehicle now: its recent worst lateness, bounded."""
    base, top = int(cfg.reorder_hold_s * 1000), int(max(cfg.reorder_hold_max_s, cfg.reorder_hold_s) * 1000)
    since = now_ms - int(cfg.reorder_adapt_window_s * 1000)
    seen = [ms for at, ms in state.lateness if at >= since]
    return min(top, max(base, max(seen) + HOLD_MARGIN_MS)) if seen else base


def _measured(state: ReorderState, ts: int, arrival_ms: int, cfg: FleetSettings) -> dict[str, Any]:
    """The parts that record how far behind a newer fix this one arrived (if it did), and its own arrival."""
    # every kept arrival is of a fix at or before max_ts (late ones are older still): a fix after it has none newer
    newer = [a for t, a in state.arrivals if t > ts] if state.max_ts is not None and ts <= state.max_ts else []
    lateness = state.lateness
    if newer and arrival_ms > min(newer):
        since = arrival_ms - int(cfg.reorder_adapt_window_s * 1000)
        lateness = tuple(x for x in lateness if x[0] >= since)[-(KEEP_ARRIVALS - 1):] + ((arrival_ms, arrival_ms - min(newer)),)
    return {"arrivals": (state.arrivals + ((ts, arrival_ms),))[-KEEP_ARRIVALS:], "lateness": lateness}


def report(state: ReorderState, vehicle_id: str, now_ms: int, cfg: FleetSettings, every_s: float = 60.0) -> tuple[ReorderState, list[LinkStats]]:
    """The vehicle's ``LinkStats`` at most every ``every_s`` of stream time, once it saw a fix."""
    if not (state.released or state.late) or (state.reported_ms is not None and now_ms - state.reported_ms < every_s * 1000):
        return state, []
    stats = LinkStats(vehicle_id, now_ms, state.released, state.late, state.duplicates, state.future, hold_ms(state, now_ms, cfg))
    return _with(state, reported_ms=now_ms), [stats]


def push(state: ReorderState, fix: Telemetry, arrival_ms: int, cfg: FleetSettings) -> tuple[ReorderState, list[OrderedFix]]:
    """Add one fix (``arrival_ms`` = processing time it arrived); return the fixes now released."""
    ts = fix.ts_ms
    if _seen(state, ts):
        return _with(state, duplicates=state.duplicates + 1), []
    if ts > arrival_ms + MAX_FUTURE_S * 1000:
        return _with(state, future=state.future + 1), [_ordered(fix, "future")]
    measured = _measured(state, ts, arrival_ms, cfg)  # one copy of the state per fix below, not one per part
    last = state.last_released_ts
    if last is not None and ts < last:
        return _with(state, late=state.late + 1, recent_ts=state.recent_ts | {ts}, **measured), [_ordered(fix, "late")]
    if not state.pending or state.pending[-1][0] < ts:
        pending = (*state.pending, (ts, arrival_ms, fix))
    else:
        items = list(state.pending)
        bisect.insort(items, (ts, arrival_ms, fix), key=lambda p: p[0])
        pending = tuple(items)
    max_ts = ts if state.max_ts is None else max(state.max_ts, ts)
    state = _with(state, pending=pending, max_ts=max_ts, **measured)
    fast_ms = int(cfg.reorder_fast_gap_s * 1000)
    if len(pending) == 1 and fast_ms > 0 and last is not None and ts - last < fast_ms:
        return _release(state, cutoff_ts=None, cfg=cfg)  # alone and on the fast path (most fixes): released whatever the cutoff
    return _release(state, cutoff_ts=_cutoff(state, arrival_ms, cfg), cfg=cfg)


def _cutoff(state: ReorderState, now_ms: int, cfg: FleetSettings) -> int | None:
    """The newest pending ts that may leave at processing time ``now_ms``: the newest that waited
    the hold, or what exceeds ``reorder_max_pending``, whichever is later (None: none yet)."""
    pending = state.pending
    hold = hold_ms(state, now_ms, cfg)
    waited = [p[0] for p in pending if p[1] <= now_ms - hold]
    cut = max(waited) if waited else None
    over = len(pending) - cfg.reorder_max_pending
    if over > 0 and (cut is None or cut < pending[over - 1][0]):
        cut = pending[over - 1][0]
    return cut


def flush_due(state: ReorderState, now_ms: int, cfg: FleetSettings) -> tuple[ReorderState, list[OrderedFix]]:
    """Clock tick: release fixes that waited the vehicle's hold (``hold_ms``) of processing time.

    Without it the last fixes before a vehicle goes quiet would wait for data that never comes.
    """
    if not state.pending:
        return state, []
    return _release(state, cutoff_ts=_cutoff(state, now_ms, cfg), cfg=cfg)


def flush_all(state: ReorderState, cfg: FleetSettings) -> tuple[ReorderState, list[OrderedFix]]:
    """End of stream (tests, batch replays): release everything pending in order."""
    if not state.pending:
        return state, []
    return _release(state, cutoff_ts=state.pending[-1][0], cfg=cfg)


def _release(state: ReorderState, cutoff_ts: int | None, cfg: FleetSettings) -> tuple[ReorderState, list[OrderedFix]]:
    """Release pending fixes in order up to ``cutoff_ts`` (None: none by time), then on along the fast path."""
    if cutoff_ts is None:
        cutoff_ts = -1 << 62
    fast_ms = int(cfg.reorder_fast_gap_s * 1000)
    out: list[OrderedFix] = []
    last = state.last_released_ts
    i = 0
    for ts, _arrival, fix in state.pending:
        fast = fast_ms > 0 and last is not None and ts - last < fast_ms
        if ts > cutoff_ts and not fast:
            break
        out.append(_ordered(fix))
        last = ts
        i += 1
    if not out:
        return state, []
    assert last is not None  # out is not empty
    # remembered: what is within the horizon of the newest released fix (ascending: releases are in order)
    horizon = last - int(cfg.dedup_horizon_s * 1000)
    kept = state.released_ts[bisect.bisect_left(state.released_ts, horizon):]
    new = [o.fix.ts_ms for o in out]
    released_ts = kept + tuple(new[bisect.bisect_left(new, horizon):])
    late = frozenset(t for t in state.recent_ts if t >= horizon) if state.recent_ts else state.recent_ts
    return _with(state, pending=state.pending[i:], last_released_ts=last, recent_ts=late, released_ts=released_ts,
                 released=state.released + len(out)), out
