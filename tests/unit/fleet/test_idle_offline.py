from contracts import alert as A
from rules.fleet import idle as I
from rules.fleet import offline as OF

from .helpers import T0, cfg, fix

C = cfg(idle_min_s=300, idle_speed_kmh=2, idle_max_gap_s=120, offline_timeout_s=600)


def run_idle(fixes):
    state, out = I.IdleState(), []
    for f in fixes:
        state, a = I.step(state, f, None, C)
        out += a
    return out


def test_idle_fires_once_at_min_duration():
    out = run_idle([fix(t, 0, ignition=True) for t in range(0, 900, 30)])
    assert [(a.type, a.ts) for a in out] == [(A.IDLE, T0 + 300_000)]
    assert out[0].value == 300 and out[0].details["start_ts"] == T0


def test_idle_needs_engine_on_and_no_movement():
    assert run_idle([fix(t, 0, ignition=False) for t in range(0, 900, 30)]) == []
    assert run_idle([fix(t, 20, ignition=True) for t in range(0, 900, 30)]) == []
    assert run_idle([fix(t, 0) for t in range(0, 900, 30)]) == []  # engine state unknown
    assert len(run_idle([fix(t, 0, rpm=800.0) for t in range(0, 900, 30)])) == 1  # rpm says it runs


def test_moving_or_gap_restarts_the_count():
    fixes = [fix(t, 0, ignition=True) for t in range(0, 240, 30)] + [fix(240, 30, ignition=True), fix(250, 30, ignition=True)]
    fixes += [fix(t, 0, ignition=True) for t in range(270, 540, 30)]
    assert run_idle(fixes) == []
    gap = [fix(t, 0, ignition=True) for t in range(0, 200, 30)] + [fix(t, 0, ignition=True) for t in range(400, 650, 30)]
    assert run_idle(gap) == []


def test_one_speed_reading_of_a_standing_vehicle_neither_ends_nor_restarts_the_episode():
    fixes = [fix(t, 0, ignition=True) for t in range(0, 240, 30)] + [fix(240, 4, ignition=True)]
    fixes += [fix(t, 0, ignition=True) for t in range(270, 540, 30)]
    assert [(a.state, a.ts, a.details["start_ts"]) for a in run_idle(fixes)] == [("raised", T0 + 300_000, T0)]


def test_two_episodes_two_incidents_each_cleared_when_it_drove_off():
    fixes = [fix(t, 0, ignition=True) for t in range(0, 330, 30)] + [fix(330, 40, ignition=True), fix(340, 40, ignition=True)]
    fixes += [fix(t, 0, ignition=True) for t in range(360, 700, 30)] + [fix(700, 0, ignition=False)]
    out = run_idle(fixes)
    assert [(a.state, a.ts - T0) for a in out] == [("raised", 300_000), ("cleared", 340_000), ("raised", 660_000),
                                                 ("cleared", 700_000)]
    assert len({a.alert_id for a in out}) == 4 and len({a.incident_id for a in out}) == 2
    first_clear, last_clear = out[1], out[3]
    assert first_clear.incident_id == out[0].alert_id and last_clear.incident_id == out[2].alert_id
    assert (first_clear.details["reason"], first_clear.details["end_ts"], first_clear.value) == ("moving", T0 + 330_000, 330)
    assert last_clear.details["reason"] == "engine_off" and last_clear.severity == "info"
    assert [a.alert_id for a in run_idle(fixes)] == [a.alert_id for a in out]  # a replay: the same ids


def test_a_gap_clears_the_incident_at_the_last_fix_seen_idling():
    fixes = [fix(t, 0, ignition=True) for t in range(0, 400, 30)] + [fix(t, 0, ignition=True) for t in range(1000, 1100, 30)]
    out = run_idle(fixes)
    assert [(a.state, a.ts - T0) for a in out] == [("raised", 300_000), ("cleared", 1_000_000)]
    assert (out[1].details["reason"], out[1].details["end_ts"]) == ("gap", T0 + 390_000)


def test_offline_after_timeout_of_arrival_time_then_online():
    state, out = OF.on_fix(OF.OfflineState(), fix(0), None, T0 + 500, C)
    assert out == []
    state, out = OF.tick(state, "v1", None, T0 + 500 + 599_999, C)
    assert out == []
    state, out = OF.tick(state, "v1", None, T0 + 500 + 612_345, C)  # the timer runs late: ts does not move
    assert [(a.type, a.ts, a.value, a.details["last_seen_ts"]) for a in out] == [(A.DEVICE_OFFLINE, T0 + 600_500, 600, T0)]
    offline = out[0]
    state, out = OF.tick(state, "v1", None, T0 + 2_000_000, C)
    assert out == []  # once per silence
    state, out = OF.on_fix(state, fix(1800), None, T0 + 1_800_500, C)
    assert [(a.type, a.ts, a.value) for a in out] == [(A.DEVICE_ONLINE, T0 + 1_800_000, 1800)]
    # replaying the same data with the same arrivals, ticking at other moments, gives the same bytes
    s2, _ = OF.on_fix(OF.OfflineState(), fix(0), None, T0 + 500, C)
    _, again = OF.tick(s2, "v1", None, T0 + 700_000, C)
    assert again[0].to_json() == offline.to_json()


def test_silence_no_tick_saw_is_reported_by_the_next_fix():
    """A backlog read faster than the timer: the fix after the gap emits the missed offline
    (stamped when it went offline, same record as a tick would have made), then online."""
    state, _ = OF.on_fix(OF.OfflineState(), fix(0), None, T0 + 500, C)
    _, by_tick = OF.tick(state, "v1", None, T0 + 650_000, C)
    state, out = OF.on_fix(state, fix(1800), None, T0 + 1_800_500, C)
    assert [a.type for a in out] == [A.DEVICE_OFFLINE, A.DEVICE_ONLINE]
    assert out[0].to_json() == by_tick[0].to_json()
    # online clears the offline incident
    assert [(a.state, a.incident_id) for a in out] == [("raised", out[0].alert_id), ("cleared", out[0].alert_id)]
    state, out = OF.on_fix(state, fix(1805), None, T0 + 1_805_500, C)
    assert out == []
    # a gap just under the timeout is no silence
    state, out = OF.on_fix(state, fix(2404), None, T0 + 1_805_500 + 599_999, C)
    assert out == []


def test_an_older_arrival_does_not_move_the_last_arrival_back():
    state, _ = OF.on_fix(OF.OfflineState(), fix(10), None, T0 + 10_000, C)
    state, _ = OF.on_fix(state, fix(9), None, T0 + 9_000, C)  # two ingest workers, one partition
    assert state.last_arrival_ms == T0 + 10_000 and state.last_event_ts == T0 + 10_000


def test_never_seen_vehicle_is_not_offline():
    assert OF.tick(OF.OfflineState(), "v1", None, T0 + 10**9, C)[1] == []
