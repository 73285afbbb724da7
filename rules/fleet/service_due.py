"""``maintenance_due`` on every fix, repeated each period until a service is recorded (Traccar).

Per vehicle and rule the due point of the current service interval - ``last service + every_km``
km, ``+ every_engine_hours`` h, ``+ every_months`` - is computed once (when the rule or the
service record changes) and every fix only compares its odometer / engine hours / date with
it. The first fix at or past any of them raises the alert (reminder 0); reminder ``n`` follows
once the vehicle has gone ``n x repeat_days`` days, ``n x repeat_km`` km or ``n x
repeat_engine_hours`` h beyond that first fix (the rule's own ``repeat_*``, else
``maintenance_repeat_days``; 0 = once). A new service record (a new ``last_service`` date)
re-arms the rule. Ids: the rule and service interval, plus the reminder number from 1 on, so a
replay gives the same ids.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from contracts import alert as A
from contracts.registry import MaintenanceRule, ServicePoint

from .config import FleetSettings
from .maintenance import DAY_MS, add_months


@dataclass(frozen=True)
class DuePoint:
    """One rule's current service interval: where it falls due, and the reminders sent."""

    basis: tuple[MaintenanceRule, ServicePoint]
    due_ts: int | None  # first instant of the due date (UTC)
    due_km: float | None
    due_hours: float | None
    first: tuple[int, float | None, float | None] | None = None  # (ts, km, h) of the first due fix
    reminders: int = 0  # sent so far


@dataclass(frozen=True)
class DueState:
    rules: Mapping[str, DuePoint] = field(default_factory=dict)  # "rule_id@last_service_date" -> due point


def _due_point(rule: MaintenanceRule, last: ServicePoint) -> DuePoint:
    due_ts = None
    if rule.every_months:
        d = add_months(last.date, rule.every_months)
        due_ts = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)
    due_km = last.odometer_km + rule.every_km if rule.every_km and last.odometer_km is not None else None
    due_h = last.engine_hours + rule.every_engine_hours if rule.every_engine_hours and last.engine_hours is not None else None
    return DuePoint((rule, last), due_ts, due_km, due_h)


def _crossed(p: DuePoint, ts: int, km: float | None, hours: float | None) -> list[str]:
    out = []
    if p.due_km is not None and km is not None and km >= p.due_km:
        out.append("km")
    if p.due_hours is not None and hours is not None and hours >= p.due_hours:
        out.append("engine_hours")
    if p.due_ts is not None and ts >= p.due_ts:
        out.append("months")
    return out


def _reminder(p: DuePoint, rule: MaintenanceRule, ts: int, km: float | None, hours: float | None, cfg: FleetSettings) -> int:
    """Number of the reminder due at this fix, counted in periods beyond the first due fix."""
    assert p.first is not None
    t0, km0, h0 = p.first
    days = rule.repeat_days
    if days is None and rule.repeat_km is None and rule.repeat_engine_hours is None:
        days = cfg.maintenance_repeat_days
    periods: list[tuple[float, float | None]] = [(ts - t0, days * DAY_MS if days else None)]
    if km is not None and km0 is not None:
        periods.append((km - km0, rule.repeat_km))
    if hours is not None and h0 is not None:
        periods.append((hours - h0, rule.repeat_engine_hours))
    return max([math.floor(gone / every) for gone, every in periods if every] + [0])


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts / 1000, tz=UTC).date().isoformat()


def step(state: DueState, vehicle_id: str, fleet_id: str | None, rules: Sequence[MaintenanceRule],
         services: Mapping[str, ServicePoint], ts: int, lat: float, lon: float, km: float | None, hours: float | None,
         cfg: FleetSettings) -> tuple[DueState, list[A.Alert]]:
    """One fix: ``km`` / ``hours`` are the vehicle's latest known counters (``UsageState.latest``)."""
    out: list[A.Alert] = []
    points: dict[str, DuePoint] = {}
    for rule in rules:
        last = services.get(rule.id)
        if last is None:
            continue
        key = f"{rule.id}@{last.date.isoformat()}"
        p = state.rules.get(key)
        if p is None or p.basis != (rule, last):
            p = _due_point(rule, last)
        crossed = _crossed(p, ts, km, hours)
        if p.first is None:
            if crossed:
                p = replace(p, first=(ts, km, hours), reminders=1)
                out.append(_alert(p, key, 0, vehicle_id, fleet_id, ts, lat, lon, km, hours, crossed))
        else:
            n = _reminder(p, rule, ts, km, hours, cfg)
            if n >= p.reminders:
                p = replace(p, reminders=n + 1)
                out.append(_alert(p, key, n, vehicle_id, fleet_id, ts, lat, lon, km, hours, crossed))
        points[key] = p
    if not out and points.keys() == state.rules.keys() and all(points[k] is state.rules[k] for k in points):
        return state, out
    return DueState(points), out


def _alert(p: DuePoint, key: str, n: int, vid: str, fleet_id: str | None, ts: int, lat: float, lon: float,
           km: float | None, hours: float | None, crossed: list[str]) -> A.Alert:
    rule, last = p.basis
    rem_km = None if p.due_km is None or km is None else round(p.due_km - km, 1)
    rem_h = None if p.due_hours is None or hours is None else round(p.due_hours - hours, 1)
    due_by = crossed[0] if crossed else None
    parts = [f"{p.due_km:.0f} km" if p.due_km is not None else "", f"{p.due_hours:.0f} engine h" if p.due_hours is not None else "",
             _iso(p.due_ts) or ""]
    reminder = f" (reminder {n})" if n else ""
    return A.make_alert(
        vehicle_id=vid, fleet_id=fleet_id, type=A.MAINTENANCE_DUE, severity="warning", ts=ts, episode_ts=0,
        id_parts=(key,) if n == 0 else (key, f"reminder {n}"), value=rem_km, threshold=0.0, lat=lat, lon=lon,
        message=f"{vid}: {rule.name} is due ({due_by or 'overdue'}; due by {', '.join(x for x in parts if x)}){reminder}: "
                f"{rule.suggestion or f'Book service: {rule.name}'}",
        details={"rule_id": rule.id, "due_by": due_by, "due_date": _iso(p.due_ts), "due_km": p.due_km,
                 "due_engine_hours": p.due_hours, "remaining_km": rem_km, "remaining_engine_hours": rem_h,
                 "last_service": last.date.isoformat(), "reminder": n, "first_due_ts": p.first[0] if p.first else ts},
    )
