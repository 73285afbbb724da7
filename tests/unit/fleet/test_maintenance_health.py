from datetime import UTC, date, datetime

from contracts import alert as A
from rules.fleet import health as H
from rules.fleet import maintenance as M
from rules.fleet import service_due as SD

from .helpers import cfg, fix, ms

C = cfg(usage_window_days=30, service_due_soon_days=14, service_due_soon_km=1000)
NOW = ms(datetime(2025, 11, 24, 12, tzinfo=UTC))
DAY = M.DAY_MS


def usage(km_per_day, h_per_day, days=10, odo=50_000.0, hours=1000.0):
    state = M.UsageState()
    for d in range(days + 1):
        ts = NOW - (days - d) * DAY
        state = M.update_usage(state, ts, odo + d * km_per_day, hours + d * h_per_day, C)
    return state


def test_rates_from_own_history():
    assert M.rates(usage(100, 2)) == (100.0, 2.0)
    assert M.rates(M.UsageState()) == (None, None)


def test_window_keeps_the_last_days_only():
    state = usage(10, 1, days=60)
    assert len(state.days) == 30


def test_earliest_criterion_wins():
    rule = M.MaintenanceRule(id="oil", name="Oil", every_km=15000, every_engine_hours=500, every_months=12)
    last = M.ServicePoint(date=date(2025, 6, 1), odometer_km=45_000, engine_hours=900)
    # now: 51 000 km, 1020 h. km: 9 000 left at 100/day = 90 days; hours: 380 left at 2/day = 190 days;
    # months: 2026-06-01. -> km wins
    f = M.forecast(rule, last, usage(100, 2), NOW)
    assert (f.due_by, f.due_date, f.remaining_km, f.remaining_engine_hours, f.overdue) == ("km", date(2026, 2, 22), 9000, 380, False)
    # a vehicle that barely moves: the calendar wins
    f = M.forecast(rule, last, usage(5, 0.1), NOW)
    assert (f.due_by, f.due_date) == ("months", date(2026, 6, 1))


def test_overdue_and_month_end():
    rule = M.MaintenanceRule(id="insp", name="Inspection", every_months=1)
    f = M.forecast(rule, M.ServicePoint(date=date(2025, 1, 31)), M.UsageState(), NOW)
    assert f.overdue and f.due_date == date(2025, 2, 28)
    km_rule = M.MaintenanceRule(id="b", name="Brakes", every_km=1000)
    f = M.forecast(km_rule, M.ServicePoint(date=date(2025, 1, 1), odometer_km=49_000), usage(100, 1), NOW)
    assert f.overdue and f.remaining_km == -1000 and f.due_date == date(2025, 11, 24)  # 51 000 km now


def due_run(rule, last, counters, c=C):
    """counters = [(ts, km, hours)] -> alerts of service_due.step over them (vehicle v1)."""
    st, out = SD.DueState(), []
    for ts, km, h in counters:
        st, alerts = SD.step(st, "v1", "f1", [rule], {rule.id: last}, ts, 52.5, 13.4, km, h, c)
        out += alerts
    return st, out


def test_due_on_the_first_fix_past_the_km_even_mid_day():
    rule = M.MaintenanceRule(id="b", name="Brakes", every_km=1000, suggestion="Check brakes")
    last = M.ServicePoint(date=date(2025, 1, 1), odometer_km=40_000)
    # 40 999.9 km at 12:00, 41 000 km at 12:01: due at the second fix, not the next day
    _, out = due_run(rule, last, [(NOW, 40_999.9, None), (NOW + 60_000, 41_000.0, None), (NOW + 120_000, 41_001.0, None)])
    (a,) = out
    assert (a.type, a.severity, a.ts, a.value) == (A.MAINTENANCE_DUE, "warning", NOW + 60_000, 0.0)
    assert a.details == {"rule_id": "b", "due_by": "km", "due_date": None, "due_km": 41_000.0, "due_engine_hours": None,
                         "remaining_km": 0.0, "remaining_engine_hours": None, "last_service": "2025-01-01", "reminder": 0,
                         "first_due_ts": NOW + 60_000}
    assert "Check brakes" in a.message and "due by 41000 km" in a.message
    assert a.alert_id == A.make_alert_id("v1", A.MAINTENANCE_DUE, 0, None, "b@2025-01-01")  # the id before reminders


def test_reminded_every_repeat_days_until_serviced():
    rule = M.MaintenanceRule(id="insp", name="Inspection", every_months=6, repeat_days=7)
    last = M.ServicePoint(date=date(2025, 5, 24))  # due 2025-11-24 00:00 UTC; NOW is 12:00 that day
    fixes = [(NOW + d * DAY + h * 3_600_000, None, None) for d in range(22) for h in (0, 6)]
    st, out = due_run(rule, last, fixes)
    # first at NOW; reminders 1, 2, 3 at the first fix 7, 14, 21 days later
    assert [(a.ts, a.details["reminder"]) for a in out] == [(NOW, 0), (NOW + 7 * DAY, 1), (NOW + 14 * DAY, 2), (NOW + 21 * DAY, 3)]
    assert out[0].details["due_date"] == "2025-11-24" and out[0].details["due_by"] == "months"
    assert len({a.alert_id for a in out}) == 4 and "(reminder 2)" in out[2].message
    # a service recorded: a new interval, nothing due, the old reminders stop
    serviced = M.ServicePoint(date=date(2025, 12, 15))
    st2, after = SD.step(st, "v1", "f1", [rule], {"insp": serviced}, NOW + 28 * DAY, 52.5, 13.4, None, None, C)
    assert after == [] and list(st2.rules) == ["insp@2025-12-15"]


def test_reminder_by_km_and_engine_hours_and_the_default_period():
    rule = M.MaintenanceRule(id="oil", name="Oil", every_km=15_000, every_engine_hours=500, repeat_km=500, repeat_engine_hours=20)
    last = M.ServicePoint(date=date(2025, 1, 1), odometer_km=45_000, engine_hours=900)
    # due by hours first (1400 h at 59 000 km); reminder n after n x 20 h or n x 500 km beyond that fix,
    # whichever criterion counts more periods: +20 h -> 1; +500 km is 1 period too (sent); +1000 km -> 2
    counters = [(NOW, 59_000, 1399.0), (NOW + 1, 59_000, 1400.0), (NOW + 2, 59_100, 1419.0), (NOW + 3, 59_200, 1420.0),
                (NOW + 4, 59_400, 1425.0), (NOW + 5, 59_500, 1426.0), (NOW + 6, 60_000, 1430.0)]
    _, out = due_run(rule, last, counters)
    assert [(a.ts, a.details["reminder"], a.details["due_by"]) for a in out] == [
        (NOW + 1, 0, "engine_hours"), (NOW + 3, 1, "engine_hours"), (NOW + 6, 2, "km")]
    assert out[0].details["due_km"] == 60_000 and out[0].details["remaining_km"] == 1000.0
    # a rule without repeat_*: maintenance_repeat_days (0 = once)
    plain = M.MaintenanceRule(id="p", name="P", every_km=1000)
    pl = M.ServicePoint(date=date(2025, 1, 1), odometer_km=0)
    daily = [(NOW + d * DAY, 2000.0, None) for d in range(10)]
    assert [a.ts for a in due_run(plain, pl, daily, cfg(maintenance_repeat_days=3))[1]] == [NOW, NOW + 3 * DAY, NOW + 6 * DAY, NOW + 9 * DAY]
    assert len(due_run(plain, pl, daily, cfg(maintenance_repeat_days=0))[1]) == 1


def test_nothing_due_without_counters_or_service():
    rule = M.MaintenanceRule(id="b", name="Brakes", every_km=1000)
    assert due_run(rule, M.ServicePoint(date=date(2025, 1, 1), odometer_km=40_000), [(NOW, None, None)])[1] == []
    st, out = SD.step(SD.DueState(), "v1", "f1", [rule], {}, NOW, 52.5, 13.4, 99_999.0, None, C)
    assert (st, out) == (SD.DueState(), [])


def test_rule_needs_a_period():
    import pytest
    with pytest.raises(ValueError, match="needs every_km"):
        M.MaintenanceRule(id="x", name="x")


def test_health_ok_attention_critical_with_suggestions():
    state = H.update(H.HealthState(), fix(0, coolant_temp_c=90.0, battery_v=14.2, rpm=900.0, oil_life_pct=60.0), C)
    assert H.assess(state, "v1", NOW, C).status == "ok"
    state = H.update(state, fix(1, tire_pressure_kpa={"fl": 170.0}), C)
    report = H.assess(state, "v1", NOW, C)
    assert report.status == "attention"
    assert [(i.code, i.suggestion) for i in report.issues] == [(A.TIRE_PRESSURE_LOW, H.SUGGESTIONS[A.TIRE_PRESSURE_LOW])]
    state = H.update(state, fix(2, coolant_temp_c=125.0), C)
    report = H.assess(state, "v1", NOW, C, active_dtcs=["P0217"])
    assert report.status == "critical"
    assert {i.code for i in report.issues} == {A.COOLANT_HIGH, A.TIRE_PRESSURE_LOW, "dtc:P0217"}
    assert "avoid driving" in next(i.suggestion for i in report.issues if i.code == "dtc:P0217")


def test_health_includes_next_service():
    rule = M.MaintenanceRule(id="oil", name="Oil", every_km=15000, suggestion="Change oil")
    far = M.forecast(rule, M.ServicePoint(date=date(2025, 6, 1), odometer_km=45_000), usage(100, 2), NOW)
    soon = M.forecast(rule, M.ServicePoint(date=date(2025, 6, 1), odometer_km=36_500), usage(100, 2), NOW)
    r = H.assess(H.HealthState(), "v1", NOW, C, forecasts=[far])
    assert r.status == "ok" and r.next_service == far
    r = H.assess(H.HealthState(), "v1", NOW, C, forecasts=[soon])
    assert r.status == "attention" and r.issues[0].suggestion == "Change oil"  # 500 km left


def test_status_is_the_status_of_the_report_in_every_combination():
    """The engine reads ``status`` on every fix and builds the report only when it changed."""
    import itertools

    rule = M.MaintenanceRule(id="oil", name="Oil", every_km=15000, suggestion="Change oil")
    at = {"far": 45_000, "soon": 36_500, "overdue": 30_000}
    forecasts = {k: M.forecast(rule, M.ServicePoint(date=date(2025, 6, 1), odometer_km=km), usage(100, 2), NOW) for k, km in at.items()}
    ratings = {
        "none": H.HealthState(),
        "in range": H.update(H.HealthState(), fix(0, coolant_temp_c=90.0, battery_v=14.2, rpm=900.0), C),
        "warning": H.update(H.HealthState(), fix(0, tire_pressure_kpa={"fl": 170.0}), C),
        "critical": H.update(H.HealthState(), fix(0, coolant_temp_c=125.0), C),
    }
    dtcs = {"none": [], "mild": ["P0420"], "severe": ["P0217"]}
    seen = set()
    for (_r, state), (_d, codes), service, drop in itertools.product(ratings.items(), dtcs.items(), [None, *forecasts], [False, True]):
        fc = [forecasts[service]] if service else []
        report = H.assess(state, "v1", NOW, C, codes, fc, drop)
        assert H.status(state, NOW, C, codes, fc, drop) == report.status, (_r, _d, service, drop)
        seen.add(report.status)
    assert seen == {"ok", "attention", "critical"}
