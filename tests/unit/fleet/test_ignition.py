"""Ignition on / off events: the first reported ignition and unreported fixes raise nothing."""

from contracts import alert as A
from rules.fleet import ignition as I

from .helpers import T0, cfg, fix

C = cfg()


def run(states):
    st, out = I.IgnitionState(), []
    for t, ign in states:
        st, alerts = I.step(st, fix(t, 0, ignition=ign), "f1", C)
        out += alerts
    return st, out


def test_first_fix_never_raises_one():
    assert run([(0, True)])[1] == [] and run([(0, False)])[1] == []


def test_on_off_on_with_durations():
    _, out = run([(0, False), (60, False), (120, True), (300, True), (420, False)])
    assert [(a.type, a.ts, a.value) for a in out] == [(A.IGNITION_ON, T0 + 120_000, 120.0), (A.IGNITION_OFF, T0 + 420_000, 300.0)]
    assert all(a.severity == "info" for a in out)
    assert [a.message for a in out] == ["v1 ignition on after 2 min off", "v1 ignition off after 5 min on"]
    assert out[0].details == {"previous_since_ts": T0} and out[1].details == {"previous_since_ts": T0 + 120_000}
    assert out[0].alert_id == A.make_alert_id("v1", A.IGNITION_ON, T0 + 120_000, None)


def test_unreported_ignition_is_no_change():
    st, out = run([(0, True), (10, None), (20, True), (30, None)])
    assert out == [] and st == I.IgnitionState(True, T0)
    _, out = run([(0, None), (10, True), (20, False)])  # first *reported* is t=10
    assert [a.type for a in out] == [A.IGNITION_OFF]
