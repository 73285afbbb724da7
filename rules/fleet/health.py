"""Vehicle health status (ok / attention / critical) with concrete suggestions.

The state keeps the latest rating of every value the vehicle reports (a fix that omits a
value keeps the previous rating). ``assess`` combines them with active DTCs, fuel alerts
and the maintenance forecast: any critical issue -> ``critical``, any warning or a service
due within ``service_due_soon_days`` / ``service_due_soon_km`` -> ``attention``, else ``ok``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from contracts import alert as A
from contracts.health import HealthReport, Issue, ServiceForecast, Status
from contracts.telemetry import Telemetry

from .config import FleetSettings
from .dtc_codes import describe, is_severe
from .ranges import Rating, evaluate

SUGGESTIONS = {
    A.COOLANT_HIGH: "Check coolant level, radiator and fan; stop the engine if it keeps rising",
    A.BATTERY_LOW: "Charge or test the battery; check for parasitic drain",
    A.CHARGING_FAULT: "Check the alternator, drive belt and battery terminals",
    A.TIRE_PRESSURE_LOW: "Inflate the tire to spec and inspect it for a puncture",
    A.TIRE_PRESSURE_HIGH: "Let air out to the pressure on the door sticker",
    A.OIL_LIFE_LOW: "Change the oil and filter",
    A.RPM_HIGH: "Talk to the driver about high engine speeds",
}


@dataclass(frozen=True)
class HealthState:
    ratings: Mapping[str, Rating] = field(default_factory=dict)
    last_ts: int = 0


def update(state: HealthState, fix: Telemetry, cfg: FleetSettings, rated: list[Rating] | None = None) -> HealthState:
    """Keep the newest rating of each value the fix reports (``rated``: ``ranges.bands`` of the fix, if known)."""
    ratings = dict(state.ratings)
    for r in evaluate(fix, cfg, rated):
        ratings[r.key] = r
    return HealthState(ratings, max(state.last_ts, fix.ts_ms))


def _service_soon(f: ServiceForecast, today: date, cfg: FleetSettings) -> bool:
    return (f.due_date is not None and (f.due_date - today).days <= cfg.service_due_soon_days) or (
        f.remaining_km is not None and f.remaining_km <= cfg.service_due_soon_km)


def status(
    state: HealthState, ts_ms: int, cfg: FleetSettings, active_dtcs: Sequence[str] = (),
    forecasts: Sequence[ServiceForecast] = (), recent_fuel_drop: bool = False,
) -> Status:
    """The status ``assess`` would report, without building its issues: the engine checks it on
    every fix and builds a report only when it changed or a day began (issue 11)."""
    rated = [r for r in state.ratings.values() if r.type is not None]
    if recent_fuel_drop or any(r.severity == "critical" for r in rated) or any(is_severe(c) for c in active_dtcs):
        return "critical"
    if rated or active_dtcs:
        return "attention"
    if forecasts:
        today = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).date()
        if any(f.overdue or _service_soon(f, today, cfg) for f in forecasts):
            return "attention"
    return "ok"


def assess(
    state: HealthState, vehicle_id: str, ts_ms: int, cfg: FleetSettings, active_dtcs: Sequence[str] = (),
    forecasts: Sequence[ServiceForecast] = (), recent_fuel_drop: bool = False,
) -> HealthReport:
    """Status and suggestions from the latest ratings, active codes and service forecasts."""
    issues: list[Issue] = []
    for key in sorted(state.ratings):
        r = state.ratings[key]
        if r.type is not None:
            issues.append(Issue(r.type, r.severity, f"{r.what} is {r.value:g} (limit {r.threshold:g})", SUGGESTIONS[r.type]))
    for code in active_dtcs:
        issues.append(Issue(f"dtc:{code}", "critical" if is_severe(code) else "warning", f"{code}: {describe(code)}",
                            "Have a workshop read and fix the code" + ("; avoid driving until then" if is_severe(code) else "")))
    if recent_fuel_drop:
        issues.append(Issue(A.FUEL_DROP, "critical", "unexplained fuel loss", "Inspect the tank, lines and fuel cap for a leak or theft"))
    today = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).date()
    dated = [f for f in forecasts if f.due_date is not None]
    next_service = min(dated, key=lambda f: f.due_date or date.max) if dated else (forecasts[0] if forecasts else None)
    for f in forecasts:
        if f.overdue or _service_soon(f, today, cfg):
            when = "overdue" if f.overdue else f"due {f.due_date.isoformat() if f.due_date else 'soon'}"
            issues.append(Issue(f"service:{f.rule_id}", "warning" if f.overdue else "info", f"{f.name} {when}", f.suggestion))
    if any(i.severity == "critical" for i in issues):
        status: Status = "critical"
    elif any(i.severity in ("warning", "info") for i in issues):
        status = "attention"
    else:
        status = "ok"
    return HealthReport(vehicle_id, ts_ms, status, tuple(issues), next_service)
