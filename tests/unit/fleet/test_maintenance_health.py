from datetime import date, datetime, timezone

from contracts import alert as A
from rules.fleet import health as H
from rules.fleet import maintenance as M

from .helpers import cfg, fix, ms

C = cfg(usage_window_days=30, service_due_soon_days=14, service_due_soon_km=1000)
NOW = ms(datetime(2025, 11, 24, 12, tzinfo=timezone.utc))
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


def test_due_alert_once_per_service_interval():
    rule = M.MaintenanceRule(id="b", name="Brakes", every_km=1000, suggestion="Check brakes")
    last = {"b": M.ServicePoint(date=date(2025, 1, 1), odometer_km=40_000)}
    f = [M.forecast(rule, last["b"], usage(100, 1), NOW)]
    keys, out = M.due_alerts(frozenset(), "v1", "f1", f, last, NOW)
    assert [(a.type, a.severity) for a in out] == [(A.MAINTENANCE_DUE, "warning")] and "Check brakes" in out[0].message
    keys, again = M.due_alerts(keys, "v1", "f1", f, last, NOW + DAY)
    assert again == []
    serviced = {"b": M.ServicePoint(date=date(2025, 11, 20), odometer_km=40_500)}
    _, after = M.due_alerts(keys, "v1", "f1", f, serviced, NOW + DAY)
    assert len(after) == 1 and after[0].alert_id != out[0].alert_id


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
