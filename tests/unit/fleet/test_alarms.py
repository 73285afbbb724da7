"""Device alarms: kinds, severities, one alert per alarm episode."""

import pytest

from contracts import alert as A
from rules.fleet import alarms as AL

from .helpers import T0, cfg, fix

C = cfg()


def run(alarms):
    st, out = AL.AlarmState(), []
    for t, alarm in alarms:
        st, alerts = AL.step(st, fix(t, 0, alarm=alarm), "f1", C)
        out += alerts
    return out


@pytest.mark.parametrize(("raw", "kind"), [
    ("sos", "sos"), ("SOS", "sos"), ("tow", "tow"), ("power_cut", "power_cut"), ("powerCut", "power_cut"),
    ("tamper", "tamper"), ("tampering", "tamper"), ("jamming", "jamming"), ("low_device_battery", "low_device_battery"),
    ("lowBattery", "low_device_battery"), ("accident", "accident"), ("crash", "accident"), ("door", "door"),
    ("overheat", "other"), ("fatigueDriving", "other"),
])
def test_kinds(raw, kind):
    assert AL.kind_of(raw) == kind


def test_sos_is_critical_once_per_episode():
    out = run([(0, None), (10, "sos"), (20, "sos"), (30, None), (40, "sos")])
    assert [(a.type, a.ts, a.severity, a.details["kind"]) for a in out] == [
        (A.DEVICE_ALARM, T0 + 10_000, "critical", "sos"), (A.DEVICE_ALARM, T0 + 40_000, "critical", "sos")]
    assert out[0].alert_id != out[1].alert_id
    assert out[0].alert_id == A.make_alert_id("v1", A.DEVICE_ALARM, T0 + 10_000, None, "sos", "sos")
    assert out[0].message == "v1 device alarm: sos"


def test_severities_and_unknown_kept_raw():
    out = run([(0, "accident"), (10, "tow"), (20, "door"), (30, "overheat")])
    assert [(a.details["kind"], a.severity) for a in out] == [
        ("accident", "critical"), ("tow", "warning"), ("door", "info"), ("other", "warning")]
    assert out[3].details == {"kind": "other", "raw": "overheat"} and "'overheat'" in out[3].message
    # a change of alarm is a new episode
    assert len(run([(0, "tow"), (10, "power_cut")])) == 2
