"""The stream clock: the backlog's time while catching up, wall time when caught up or quiet."""

import pytest

from rules.fleet.stream_clock import StreamClock

W0 = 1_800_000_000_000  # wall time at start


def test_waits_for_the_grace_when_nothing_was_read_then_wall_clock():
    clock = StreamClock(grace_ms=600_000)
    assert clock.now(W0) is None
    assert clock.now(W0 + 599_999) is None
    assert clock.now(W0 + 600_000) == W0 + 600_000
    assert clock.now(W0 + 700_000) == W0 + 700_000


def test_a_record_ends_the_grace_and_sets_the_time():
    clock = StreamClock(grace_ms=600_000)
    assert clock.now(W0) is None
    clock.observe(W0 - 3_600_000, W0 + 5_000)  # the first backlog record, an hour old
    assert clock.now(W0 + 5_000) == W0 - 3_600_000
    # an hour behind: the wall time after it counts only after the stall allowance (30 s)
    assert clock.now(W0 + 35_000) == W0 - 3_600_000
    assert clock.now(W0 + 36_000) == W0 - 3_599_000


def test_catch_up_follows_the_backlog_then_wall_time():
    """A 10-minute backlog read in 2 s: stream time moves through those 10 minutes, not 2 s of
    wall time ahead of them; once the window passes after the last backlog record, wall time."""
    clock = StreamClock(grace_ms=0, window_ms=60_000)
    backlog_start = W0 - 600_000
    for i in range(601):  # one record per backlog second, 300 per wall second
        clock.observe(backlog_start + i * 1000, W0 + i * 2000 // 600)
    now = clock.now(W0 + 2_000)
    assert backlog_start <= now <= backlog_start + 2_000  # the slowest record of the window sets the pace
    # quiet since: newest arrival (W0, read 2 s after it arrived) + elapsed after a wait as long
    # as that delay, i.e. wall time minus twice the read delay
    assert clock.now(W0 + 63_000) == W0 + 59_000


def test_live_stream_is_wall_clock_minus_the_transport_delay():
    clock = StreamClock(grace_ms=0)
    for i in range(120):
        clock.observe(W0 + i * 1000 - 150, W0 + i * 1000)  # seen 150 ms after the MQTT receive time
    # the newest record waits its own 150 ms delay before wall time counts: 2 x 150 ms behind
    assert clock.now(W0 + 119_500) == W0 + 119_200


def test_the_slowest_source_sets_the_pace():
    """Two partitions catching up: A is read up to now quickly, B is still 30 min behind. The
    newest arrival (A's) would make B's vehicles look silent for 30 min."""
    clock = StreamClock(grace_ms=0, window_ms=60_000)
    for i in range(100):
        wall = W0 + i * 10
        clock.observe(W0 - 60_000 + i * 600, wall)  # A: the last minute, nearly done
        clock.observe(W0 - 3_600_000 + i * 600, wall)  # B: an hour back, still reading
    assert clock.now(W0 + 1_000) <= W0 - 3_600_000 + 100 * 600 + 1_000


def test_a_stall_while_catching_up_does_not_move_the_clock_past_the_backlog():
    """Read an hour-old backlog, then the process is starved for 25 s before the next batch: the
    next records are a few ms newer, so stream time must not have run 25 s ahead of them."""
    clock = StreamClock(grace_ms=0, stall_ms=30_000)
    backlog_start = W0 - 3_600_000
    for i in range(200):
        clock.observe(backlog_start + i * 10, W0 + i)  # 10 ms of arrivals per ms of reading
    last = backlog_start + 199 * 10
    for stalled in (1_000, 10_000, 25_000, 29_000):
        assert clock.now(W0 + 199 + stalled) <= last  # no further than the records already seen
    clock.observe(last + 10, W0 + 199 + 25_000)  # the next batch, after the stall
    assert clock.now(W0 + 199 + 25_000) <= last + 10


def test_after_the_stall_allowance_a_silent_backlog_follows_the_wall_again():
    """The ingest died while the flow was behind: the last record is an hour old. Its silence must
    still become visible (offline alerts), stall_ms later than for a live stream."""
    clock = StreamClock(grace_ms=0, window_ms=60_000, stall_ms=30_000)
    clock.observe(W0 - 3_600_000, W0)
    assert clock.now(W0 + 30_000) == W0 - 3_600_000
    assert clock.now(W0 + 90_000) == W0 - 3_600_000 + 60_000  # window passed: the newest record alone
    assert clock.now(W0 + 3_630_000) == W0 + 3_630_000 - 3_600_000 - 30_000


def test_a_live_stream_goes_quiet_and_the_clock_follows_the_wall():
    clock = StreamClock(grace_ms=0, stall_ms=30_000)
    clock.observe(W0 - 200, W0)
    assert clock.now(W0 + 10_000) == W0 + 10_000 - 400
    assert clock.now(W0 + 700_000) == W0 + 700_000 - 400


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        StreamClock(grace_ms=-1)
    with pytest.raises(ValueError):
        StreamClock(grace_ms=0, window_ms=0)
    with pytest.raises(ValueError):
        StreamClock(grace_ms=0, stall_ms=-1)
