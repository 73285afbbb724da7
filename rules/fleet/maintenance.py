"""Next service due, forecast from the vehicle's own usage rate; the earliest criterion wins.

A rule says "every N km / N engine hours / N months" (any subset). From the last service
(odometer, engine hours, date) and the vehicle's recent rates (km/day, hours/day, measured
over ``usage_window_days`` of its own data) each criterion gives a due date; the earliest is
the forecast. Without usage data only the calendar criterion can give a date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from contracts.health import ServiceForecast

# re-exported: pickles written before the record types moved to contracts/ name them here
from contracts.registry import MaintenanceRule as MaintenanceRule
from contracts.registry import ServicePoint as ServicePoint

from .config import FleetSettings
from .evolve import evolve

DAY_MS = 86_400_000


@dataclass(frozen=True)
class UsageState:
    """One (day, odometer, engine hours) per UTC day, the last ``usage_window_days`` days."""

    days: tuple[tuple[int, float | None, float | None], ...] = ()

    def latest(self) -> tuple[float | None, float | None]:
        return (self.days[-1][1], self.days[-1][2]) if self.days else (None, None)


def update_usage(state: UsageState, ts_ms: int, odometer_km: float | None, engine_hours: float | None, cfg: FleetSettings) -> UsageState:
    """Record the latest counters of the fix's UTC day; keep the window."""
    if odometer_km is None and engine_hours is None:
        return state
    day = ts_ms // DAY_MS
    days = [d for d in state.days if d[0] != day and d[0] > day - cfg.usage_window_days]
    days.append((day, odometer_km, engine_hours))
    return evolve(state, days=tuple(sorted(days)))


def rates(state: UsageState) -> tuple[float | None, float | None]:
    """(km per day, engine hours per day) between the first and last day of the window."""
    def rate(i: int) -> float | None:
        pts = [(d[0], v) for d in state.days if (v := d[i]) is not None]
        if len(pts) < 2 or pts[-1][0] == pts[0][0]:
            return None
        return max(0.0, (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0]))
    return rate(1), rate(2)


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def forecast(rule: MaintenanceRule, last: ServicePoint, usage: UsageState, now_ms: int) -> ServiceForecast:
    """Due date of ``rule`` for a vehicle serviced at ``last``; earliest criterion wins."""
    today = datetime.fromtimestamp(now_ms / 1000, tz=UTC).date()
    odo, hours = usage.latest()
    km_day, h_day = rates(usage)
    candidates: list[tuple[date, str]] = []
    rem_km = rem_h = None
    overdue = False
    if rule.every_months:
        due = add_months(last.date, rule.every_months)
        candidates.append((due, "months"))
        overdue |= due <= today
    for every, at, now_val, per_day, label in (
        (rule.every_km, last.odometer_km, odo, km_day, "km"),
        (rule.every_engine_hours, last.engine_hours, hours, h_day, "engine_hours"),
    ):
        if every is None or at is None or now_val is None:
            continue
        remaining = at + every - now_val
        if label == "km":
            rem_km = remaining
        else:
            rem_h = remaining
        if remaining <= 0:
            overdue = True
            candidates.append((today, label))
        elif per_day:
            candidates.append((today + timedelta(days=remaining / per_day), label))
    due_date, due_by = min(candidates) if candidates else (None, None)
    return ServiceForecast(rule.id, rule.name, due_date, due_by, rem_km, rem_h, overdue, rule.suggestion or f"Book service: {rule.name}")
