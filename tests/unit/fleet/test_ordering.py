from rules.fleet import ordering as O

from .helpers import T0, cfg, fix

C = cfg(reorder_fast_gap_s=2)


def push_all(items, c=C, state=None):
    state = state or O.ReorderState()
    out = []
    for f, arrival in items:
        state, rel = O.push(state, f, arrival, c)
        out += rel
    return state, out


def ts_of(out):
    return [(o.fix.ts_ms - T0) // 1000 for o in out]


def test_in_order_1hz_passes_at_once_after_the_first_fix():
    state, out = push_all([(fix(0), T0), (fix(1), T0 + 1000)])
    assert ts_of(out) == []  # the very first fix of a vehicle waits: nothing to be contiguous with
    state, out = push_all([(fix(31), T0 + 31000)], state=state)
    assert ts_of(out) == [0, 1]  # 31 follows a 30 s gap: it waits, something may still fill the gap
    state, out = push_all([(fix(t), T0 + t * 1000) for t in range(2, 31)], state=state)
    assert ts_of(out) == list(range(2, 32))  # the gap filled in: all contiguous, released at once
    state, out = push_all([(fix(32), T0 + 32000)], state=state)
    assert ts_of(out) == [32]


def test_out_of_order_within_lateness_is_put_back_in_order():
    items = [(fix(t), T0 + 40_000) for t in (0, 1, 2)] + [(fix(3 + 2), T0 + 40_000), (fix(3), T0 + 40_000)]
    state, out = push_all(items)
    state, rest = O.flush_all(state, C)
    assert ts_of(out + rest) == [0, 1, 2, 3, 5]
    assert not any(o.late for o in out + rest)


def test_gap_waits_for_the_hold_then_reorders_backlog():
    # device out of coverage: live fix 40 arrives before its buffered fixes 5..39
    state, out = push_all([(fix(t), T0) for t in range(0, 5)] + [(fix(40), T0)])
    assert ts_of(out) == []  # the first fix waits the hold: nothing to be contiguous with
    state, out = push_all([(fix(t), T0 + 1000) for t in range(5, 40)], state=state)
    assert ts_of(out) == []  # nothing waited 2 s yet
    state, out = O.flush_due(state, T0 + 2000, C)
    assert ts_of(out) == list(range(0, 41)) and state.late == 0  # the backlog took its place before 40


def test_exact_duplicates_are_dropped_and_counted():
    state, out = push_all([(fix(0), T0), (fix(0), T0), (fix(40), T0), (fix(0), T0), (fix(40), T0)])
    assert out == [] and state.duplicates == 3
    state, out = O.flush_due(state, T0 + 2000, C)
    assert ts_of(out) == [0, 40]
    state, out = push_all([(fix(0), T0 + 3000), (fix(40), T0 + 3000)], state=state)
    assert out == [] and state.duplicates == 5


def test_older_than_a_released_fix_is_kept_flagged_and_counted():
    state, out = push_all([(fix(0), T0), (fix(40), T0), (fix(41), T0), (fix(5), T0 + 1000)])
    assert out == []  # 5 arrived within the hold: it takes its place
    state, out = O.flush_due(state, T0 + 2000, C)
    assert ts_of(out) == [0, 5, 40, 41]  # 40 and 41 waited the hold; 5, older, leaves before them
    state, out = push_all([(fix(10), T0 + 2500)], state=state)
    assert [(ts, o.flag) for ts, o in zip(ts_of(out), out, strict=True)] == [(10, "late")]  # older than 41, released
    assert state.late == 1
    state, out = push_all([(fix(10), T0 + 2600)], state=state)
    assert out == [] and state.duplicates == 1  # a re-sent late fix is still a duplicate
def test_future_timestamp_does_not_move_the_watermark():
    state, out = push_all([(fix(0), T0), (fix(3600), T0 + 1000)])
    assert [o.flag for o in out] == ["future"]
    state, out = push_all([(fix(1), T0 + 1000)], state=state)
    assert state.future == 1 and state.late == 0 and state.max_ts == T0 + 1000


def test_flush_due_releases_what_waited_the_hold_in_processing_time():
    """The first fix and a fix after a gap wait reorder_hold_s (2 s) of processing time."""
    state, _ = push_all([(fix(0), T0)])
    state, out = O.flush_due(state, T0 + 1_999, C)
    assert out == []
    state, out = O.flush_due(state, T0 + 2_000, C)
    assert ts_of(out) == [0]
    state, out = push_all([(fix(10), T0 + 10_000)], state=state)
    assert out == []  # after a gap: waits
    state, out = O.flush_due(state, T0 + 11_999, C)
    assert out == []
    state, out = O.flush_due(state, T0 + 12_000, C)
    assert ts_of(out) == [10] and not state.pending


def test_a_later_arrival_releases_what_waited_the_hold():
    """Judged at each arrival too, not only on the timer: the same release whatever the tick."""
    state, _ = push_all([(fix(0), T0)])
    state, out = push_all([(fix(10), T0 + 2_000)], state=state)
    assert ts_of(out) == [0]


def test_older_fix_arriving_within_the_hold_takes_its_place():
    state, out = push_all([(fix(0), T0)])
    state, out = O.flush_due(state, T0 + 2_000, C)
    state, out = push_all([(fix(20), T0 + 20_000), (fix(15), T0 + 21_000)], state=state)
    assert out == []
    state, out = O.flush_due(state, T0 + 22_000, C)
    assert ts_of(out) == [15, 20] and state.late == 0


def test_fast_path_off_waits_for_the_hold():
    c = cfg(reorder_fast_gap_s=0)
    state, out = push_all([(fix(t), T0) for t in range(0, 7)], c=c)
    assert out == []  # arrived together: nothing waited the hold yet
    state, out = push_all([(fix(7), T0 + 2000)], c=c, state=state)
    assert ts_of(out) == list(range(7))  # 7 itself arrived now: it waits


def test_a_burst_interleaved_by_two_ingest_workers_loses_no_fix():
    """A device's 40 s backlog arrives in one burst, written to Kafka by two ingest workers in
    turn: the odd fixes first, the even ones a few ms later (seen in the journey test). Nothing
    is released before the hold, however far the newest event time ran ahead, so none is late."""
    odd = [(fix(t), T0 + t // 4) for t in range(1, 40, 2)]
    even = [(fix(t), T0 + 9 + t // 4) for t in range(0, 40, 2)]
    state, out = push_all(odd + even)
    assert out == [] and state.late == 0
    state, out = O.flush_due(state, T0 + 2_000 + 20, C)
    assert ts_of(out) == list(range(40)) and state.late == 0


def test_the_buffer_is_bounded():
    c = cfg(reorder_max_pending=10)
    state, out = push_all([(fix(t), T0) for t in range(25, 0, -1)], c=c)  # newest first: no fast path
    # the 11th push overflows the bound: its oldest (15) leaves, and 16..25 after it on the fast path;
    # the older ones that come later are late (counted, passed on flagged so they are stored)
    assert ts_of(out)[:11] == list(range(15, 26)) and not state.pending and state.late == 14


def jittery(n: int, max_delay_ms: int, seed: int = 1):
    """1 Hz fixes, each delayed 0..max_delay_ms on the link, in arrival order."""
    import random
    rng = random.Random(seed)
    items = [(fix(t), T0 + t * 1000 + rng.randint(0, max_delay_ms)) for t in range(n)]
    return sorted(items, key=lambda x: x[1])


def run_link(items, c, tick_ms=1000):
    """Push at arrival time with a timer every ``tick_ms``; return the state and all released fixes."""
    state, out, next_tick = O.ReorderState(), [], items[0][1]
    for f, arrival in items:
        while next_tick <= arrival:
            state, rel = O.flush_due(state, next_tick, c)
            out += rel
            next_tick += tick_ms
        state, rel = O.push(state, f, arrival, c)
        out += rel
    for _ in range(20):
        state, rel = O.flush_due(state, next_tick, c)
        out += rel
        next_tick += tick_ms
    return state, out


def test_hold_adapts_to_the_links_lateness_and_stays_bounded():
    c = cfg(reorder_fast_gap_s=2, reorder_hold_s=2, reorder_hold_max_s=10)
    fixed = cfg(reorder_fast_gap_s=2, reorder_hold_s=2, reorder_hold_max_s=2)
    items = jittery(600, 6000)  # a fix overtaken by up to 5 newer ones
    old, _ = run_link(items, fixed)
    new, out = run_link(items, c)
    assert old.late == 60  # the fixed 2 s hold skips 10 % of them
    assert new.late == 4  # each a new worst lateness, which raises the hold (judged at arrival, not at the next tick)
    assert [o.fix.ts_ms for o in out if not o.late] == sorted(o.fix.ts_ms for o in out if not o.late)
    worst = max(ms for _, ms in new.lateness)
    assert O.hold_ms(new, items[-1][1], c) == worst + O.HOLD_MARGIN_MS and 2000 < worst < 6000
    wild, _ = run_link(jittery(200, 30_000), c)
    assert O.hold_ms(wild, T0 + 200_000, c) == 10_000  # bounded
    clean, _ = run_link(jittery(300, 0), c)
    assert O.hold_ms(clean, T0 + 300_000, c) == 2000 and clean.late == 0
    assert O.hold_ms(new, items[-1][1] + 601_000, c) == 2000  # measurements expire after the window


def test_link_report_once_a_minute_with_the_late_share():
    c = cfg(reorder_hold_s=2, reorder_hold_max_s=2)
    state, _ = run_link(jittery(600, 4000), c)
    state, (stats,) = O.report(state, "v1", T0 + 700_000, c)
    assert (stats.released, stats.late) == (state.released, state.late)
    assert stats.late_share == state.late / (state.released + state.late) and 0 < stats.late_share < 0.2
    assert O.report(state, "v1", T0 + 759_999, c)[1] == []
    assert len(O.report(state, "v1", T0 + 760_000, c)[1]) == 1
    assert O.report(O.ReorderState(), "v1", T0, c)[1] == []  # nothing seen, nothing reported
