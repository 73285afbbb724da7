"""The 1-minute stats windows inside the bucket step (rules/fleet/minute_windows.py): Bytewax
EventClock + TumblingWindower rules (watermark, lateness, closing), and through BucketLogic, for
every scenario, exactly the windows and late fixes of the Bytewax fold_window it replaced."""

from __future__ import annotations

import pickle
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import bytewax.operators.windowing as W
from bytewax.operators.windowing import EventClock, TumblingWindower

from dataflows.vehicle_buckets import BucketLogic, window_wait
from rules.fleet import stats as ST
from rules.fleet.engine import Output, VehicleState
from rules.fleet.minute_windows import MinuteWindows
from rules.fleet.stream_clock import StreamClock

from .helpers import T0, fix
from .test_scenarios import REG
from .test_vehicle_buckets import CFG, TICK, Driver, records

WAIT = 5_000


def test_a_window_closes_once_the_watermark_reaches_its_end() -> None:
    w = MinuteWindows()
    start = T0 - T0 % 60_000
    wall = 1_000_000
    for s in range(60):
        assert w.add(fix(start // 1000 - T0 // 1000 + s), 1.0, WAIT, wall + s * 1000)
    assert w.close(wall + 59_000) == []
    # newest event = start + 59 s, seen at wall + 59 s: the watermark reaches start + 60 s 6 s later
    assert w.close(wall + 59_000 + 5_999) == []
    ((wid, got),) = w.close(wall + 59_000 + 6_000)
    assert wid == start // 60_000 and got.samples == 60 and got.distance_m == 60.0 and w.opened == {}


def test_a_fix_older_than_the_watermark_is_late_and_not_folded() -> None:
    w = MinuteWindows()
    rel = (T0 - T0 % 60_000) // 1000 - T0 // 1000  # seconds from T0 to its minute's start
    assert w.add(fix(rel + 70), 0.0, WAIT, 0)  # watermark = event - 5 s
    assert w.add(fix(rel + 66), 0.0, WAIT, 0)  # 4 s older: not late
    assert not w.add(fix(rel + 64), 0.0, WAIT, 0)  # 6 s older than the newest: late
    assert not w.add(fix(rel + 66), 0.0, WAIT, 2_000)  # the watermark ran on with the wall clock
    assert sum(s.samples for s in w.opened.values()) == 2


def test_snapshot_is_not_changed_by_later_folds() -> None:
    w = MinuteWindows()
    w.add(fix(0), 0.0, WAIT, 0)
    snap = pickle.loads(pickle.dumps(w.snapshot()))
    w.add(fix(1), 0.0, WAIT, 0)
    assert sum(s.samples for s in snap.opened.values()) == 1 and sum(s.samples for s in w.opened.values()) == 2


def bytewax_window(now: list[datetime], wait_ms: int) -> Any:
    """What the flow ran before (per vehicle): Bytewax 0.21's fold_window logic with an EventClock
    and a 1-minute TumblingWindower, ordered, its system time read from ``now[0]``."""
    clock: EventClock[Any] = EventClock(lambda pf: datetime.fromtimestamp(pf.fix.ts_ms / 1000, tz=UTC), timedelta(milliseconds=wait_ms),
                       now_getter=lambda: now[0])
    return W._WindowLogic(clock.build(None), TumblingWindower(timedelta(minutes=1), datetime(1970, 1, 1, tzinfo=UTC)).build(None),
                          lambda s: W._FoldWindowLogic(lambda acc, pf: ST.fold_minute(acc, pf.fix, pf.segment_m), ST.merge,
                                                       s if s is not None else ST.MinuteStats()), True)


def test_bucket_step_windows_equal_bytewax_fold_window() -> None:
    """Every scenario through BucketLogic with live-like ticks (a buffered link delivers fixes 40 s
    late: some are late for their window): the windows it closes and the fixes it calls late are
    exactly those of Bytewax's fold_window fed the same released fixes at the same wall times."""
    items = records()
    d = Driver(True, 50)
    d.wall = items[0][1] - 1000
    wait_ms = int(window_wait(CFG, TICK).total_seconds() * 1000)
    now = [datetime.fromtimestamp(d.wall / 1000, tz=UTC)]
    ref: dict[str, Any] = {}
    got_minutes: list[tuple[str, int, ST.MinuteStats]] = []
    got_late: list[tuple[str, int]] = []
    ref_minutes: list[tuple[str, int, ST.MinuteStats]] = []
    ref_late: list[tuple[str, int]] = []
    take = d.take

    def ref_events(vid: str, events: Any) -> None:
        for wid, kind, v in events:
            if kind == "E":
                ref_minutes.append((vid, wid, v))
            elif kind == "L":
                ref_late.append((vid, v.fix.ts_ms))

    def keep(outs: list[Output]) -> None:
        take(outs)
        now[0] = datetime.fromtimestamp(d.wall / 1000, tz=UTC)
        for o in outs:
            got_minutes.extend(o.minutes)
            got_late.extend((pf.fix.vehicle_id, pf.fix.ts_ms) for pf in o.window_late)
            released: dict[str, list[Any]] = defaultdict(list)
            for pf in o.fixes:
                if pf.flag is None:
                    released[pf.fix.vehicle_id].append(pf)
            for vid, pfs in released.items():
                logic = ref.get(vid) or ref.setdefault(vid, bytewax_window(now, wait_ms))
                events, discard = logic.on_batch(pfs)
                ref_events(vid, events)
                if discard:  # Bytewax drops a key's window state (clock included) once nothing is open
                    del ref[vid]
        for vid, logic in list(ref.items()):
            events, discard = logic.on_notify()
            ref_events(vid, events)
            if discard:
                del ref[vid]

    d.take = keep  # type: ignore[method-assign]
    d.read(items)
    d.tick_until(items[-1][1] + 3_600_000)
    assert len(ref_minutes) > 100 and len(ref_late) > 50
    assert sorted(got_late) == sorted(ref_late)
    # a window can close twice, as in Bytewax: once nothing is open the key's clock is dropped, and
    # fixes delivered later than the wait reopen their (closed) minute
    def by_vehicle(minutes: list[tuple[str, int, ST.MinuteStats]]) -> dict[str, list[tuple[int, ST.MinuteStats]]]:
        out: dict[str, list[tuple[int, ST.MinuteStats]]] = defaultdict(list)
        for vid, wid, acc in minutes:
            out[vid].append((wid, acc))
        return out

    assert by_vehicle(got_minutes) == by_vehicle(ref_minutes)  # the same windows, in the same order per vehicle


def minutes_of(restart_at: int | None) -> list[tuple[str, int, ST.MinuteStats]]:
    items = records()
    d = Driver(True, 50)
    d.wall = items[0][1] - 1000
    got: list[tuple[str, int, ST.MinuteStats]] = []
    take = d.take

    def keep(outs: list[Output]) -> None:
        take(outs)
        for o in outs:
            got.extend(o.minutes)

    d.take = keep  # type: ignore[method-assign]
    if restart_at is None:
        d.read(items)
    else:
        d.read(items[:restart_at])
        d.restart_from_snapshot()  # pickled and resumed, open windows included
        d.read(items[restart_at:])
    d.tick_until(items[-1][1] + 3_600_000)
    return got


def test_a_snapshot_resumed_mid_window_gives_the_same_windows() -> None:
    smooth = minutes_of(None)
    resumed = minutes_of(len(records()) // 2 // 50 * 50)
    assert len(smooth) > 100 and resumed == smooth


def test_a_snapshot_without_windows_still_resumes() -> None:
    """The bucket step's snapshot before the windows moved in: {vehicle_id: VehicleState}."""
    logic = BucketLogic({"v1": VehicleState()}, lambda: REG, CFG, TICK, 7 * 86400, StreamClock(grace_ms=0), lambda: 0)
    assert list(logic._states) == ["v1"] and logic._windows == {}
    assert list(logic.snapshot()) == ["v1"] and logic.snapshot()["v1"][1] is None
