import pytest

from contracts import alert as A
from rules.fleet import overspeed as OS

from .helpers import LAT, T0, cfg, fix, north

C = cfg(overspeed_min_duration_s=10, overspeed_max_gap_s=60)


def run(speeds, limit=100.0, c=C, step_s=1.0):
    """Speeds at 1 fix per step_s, driving north at the given speed."""
    state, out, pos = OS.OverspeedState(), [], 0.0
    for i, v in enumerate(speeds):
        state, alerts = OS.step(state, fix(i * step_s, v, lat=north(pos)), "f1", limit, c)
        out += [(i, a) for a in alerts]
        pos += v / 3.6 * step_s
    return state, out


def test_effective_limit_precedence():
    assert OS.effective_limit(30, 80, 90, 100) == 30
    assert OS.effective_limit(None, 80, 90, 100) == 80
    assert OS.effective_limit(None, None, 90, 100) == 90
    assert OS.effective_limit(None, None, None, 100) == 100
    assert OS.effective_limit(None, None, None, None) is None


def test_fires_at_the_fix_where_min_duration_is_reached_not_one_later():
    _, out = run([90] + [110] * 15 + [90])
    starts = [(i, a) for i, a in out if a.type == A.OVERSPEED]
    # above from fix 1 (t=1 s); t=11 s is the first fix with 10 s above the limit
    assert [i for i, _ in starts] == [11]
    a = starts[0][1]
    assert a.ts == T0 + 11_000 and a.value == 110 and a.threshold == 100 and a.severity == "warning"
    assert a.details["start_ts"] == T0 + 1000


def test_overspeed_end_clears_the_overspeed_incident():
    _, out = run([90] + [135] * 15 + [90])
    (over, end) = [a for _, a in out]
    assert (over.type, over.state, over.severity) == (A.OVERSPEED, "raised", "critical")
    assert (end.type, end.state, end.incident_id) == (A.OVERSPEED_END, "cleared", over.alert_id)
    assert end.details["incident_severity"] == "critical" and end.alert_id != over.alert_id


def test_min_duration_zero_fires_on_first_fix_above():
    _, out = run([90, 101, 102], c=cfg(overspeed_min_duration_s=0))
    assert [(i, a.type) for i, a in out] == [(1, A.OVERSPEED)]


def test_at_the_limit_is_not_over_and_tolerance_applies():
    assert run([100] * 20)[1] == []
    assert run([104] * 20, c=cfg(overspeed_min_duration_s=0, overspeed_tolerance_kmh=5))[1] == []


def test_short_blip_gives_nothing_not_even_an_end():
    assert run([90] + [120] * 5 + [90] * 3)[1] == []


def test_one_alert_per_episode_and_a_closing_record():
    speeds = [90] + [110, 120, 135, 120] * 4 + [95, 95]
    _, out = run(speeds)
    types = [a.type for _, a in out]
    assert types == [A.OVERSPEED, A.OVERSPEED_END]
    start, end = out[0][1], out[1][1]
    assert end.ts == T0 + 17_000  # first fix back under the limit
    assert end.details["start_ts"] == T0 + 1000 and end.details["end_ts"] == T0 + 17_000
    assert end.details["duration_s"] == 16 and end.details["peak_kmh"] == 135 and end.value == 135
    # distance from fix 1 to fix 17: the sum of the speeds of fixes 1..16 over one second each
    expected_m = sum(v / 3.6 for v in speeds[1:17])
    assert end.details["distance_m"] == pytest.approx(expected_m, abs=0.5)
    assert start.alert_id != end.alert_id


def test_critical_when_far_over():
    _, out = run([140] * 12)
    assert out[0][1].severity == "critical"


def test_gap_closes_episode_at_the_last_fix_before_it():
    state, out = run([110] * 12)
    assert [a.type for _, a in out] == [A.OVERSPEED]
    state, alerts = OS.step(state, fix(11 + 120, 110, lat=LAT), "f1", 100, C)
    assert [a.type for a in alerts] == [A.OVERSPEED_END]
    assert alerts[0].details["end_ts"] == T0 + 11_000
    assert state.start_ts == T0 + 131_000 and not state.alerted  # a new episode starts


def test_replay_gives_identical_alerts():
    speeds = [90] + [110] * 12 + [90]
    assert [a.to_json() for _, a in run(speeds)[1]] == [a.to_json() for _, a in run(speeds)[1]]


def test_no_limit_no_alert():
    assert run([300] * 20, limit=None)[1] == []


def test_a_zone_limit_names_the_zone_and_keeps_the_id():
    """School zone at 30 km/h: 40 km/h from t=0 for 12 s, then 25."""
    state, out = OS.OverspeedState(), []
    for i, v in enumerate([40] * 12 + [25]):
        state, alerts = OS.step(state, fix(i, v), "f1", 30.0, C, zone=("school", "Lindenschule"))
        out += alerts
    over, end = out
    assert (over.type, over.ts, over.geofence_id, over.details["zone_name"]) == (A.OVERSPEED, T0 + 10_000, "school", "Lindenschule")
    assert over.message == "v1 at 40 km/h, limit 30 km/h in Lindenschule, for 10 s"
    assert (end.type, end.geofence_id, end.details["zone_name"]) == (A.OVERSPEED_END, "school", "Lindenschule")
    assert "over limit 30 km/h in Lindenschule for 12 s" in end.message
    # same id as without a zone: an episode is (vehicle, start)
    assert over.alert_id == A.make_alert_id("v1", A.OVERSPEED, T0, None)
    assert end.incident_id == over.alert_id
    _, plain = run([40] * 12 + [25], limit=30.0)
    assert [a.alert_id for _, a in plain] == [over.alert_id, end.alert_id] and plain[0][1].geofence_id is None
