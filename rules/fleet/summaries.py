"""Daily summaries per vehicle and per driver: the figures of a fleet manager's morning report.

Per vehicle and local day (the fleet's time zone; a trip, stop or alert counts on the day it
started, like ``rules.fleet.scoring``'s daily score):

- ``distance_km``, ``trips``: the day's trips;
- ``driving_s``: the trips' time minus their idle time (moving or briefly stopped, engine off);
- ``idle_s``: engine on and not moving - inside the trips plus inside the stops;
- ``max_speed_kmh``; ``mean_speed_kmh`` = distance / driving time;
- ``stops``, ``stopped_s`` (``rules.fleet.stops``);
- ``alerts``: incidents raised by type (a clear or escalation is not another alert);
- ``fuel_used_pct``: first level - last level + refuelled, where a refuel is a run of rising
  readings that gains at least ``refuel_rise_pct`` in all (the level sensor's small wobbles
  are no refuels); None without fuel readings. Percentage points: the registry has no tank size;
- ``safety_score``: ``scoring.safety_score`` of the day's totals (the same as ``safety_daily``).

A driver's day (the registry's vehicle ``owner``) adds up the days of their vehicles and
recomputes the mean speed and the score from the totals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from contracts.alert import Alert
from contracts.trip import Trip

from .config import FleetSettings
from .scoring import EVENT_KEYS, local_day, safety_score
from .stops import Sample, Stop


@dataclass(frozen=True)
class DaySummary:
    key: str  # vehicle id, or the driver for a driver's summary
    day: str  # local date YYYY-MM-DD
    vehicles: tuple[str, ...]
    trips: int = 0
    distance_km: float = 0.0
    driving_s: float = 0.0
    idle_s: float = 0.0
    max_speed_kmh: float = 0.0
    mean_speed_kmh: float = 0.0
    stops: int = 0
    stopped_s: float = 0.0
    alerts: Mapping[str, int] = field(default_factory=dict)
    fuel_used_pct: float | None = None
    events: Mapping[str, int] = field(default_factory=dict)  # harsh / overspeed counts of the trips
    trip_idle_s: float = 0.0
    safety_score: float = 100.0


def fuel_used_pct(levels: Sequence[float], refuel_rise_pct: float) -> float | None:
    """first - last + the rises of at least ``refuel_rise_pct`` (one rising run = one refuel)."""
    if not levels:
        return None
    refuelled, run = 0.0, 0.0
    for a, b in zip(levels, levels[1:], strict=False):
        if b >= a:
            run += b - a
        else:
            refuelled += run if run >= refuel_rise_pct else 0.0
            run = 0.0
    refuelled += run if run >= refuel_rise_pct else 0.0
    return round(levels[0] - levels[-1] + refuelled, 2)


def _mean_speed(distance_km: float, driving_s: float) -> float:
    return round(distance_km / (driving_s / 3600), 1) if driving_s > 0 else 0.0


def vehicle_days(vehicle_id: str, trips: Iterable[Trip], stops: Iterable[Stop], alerts: Iterable[Alert],
                 samples: Iterable[Sample], tz: str, cfg: FleetSettings) -> list[DaySummary]:
    """One summary per local day that has a trip, stop, alert or fix of the vehicle, oldest first."""
    by_day: dict[str, dict[str, list]] = defaultdict(lambda: {"trips": [], "stops": [], "alerts": [], "fuel": []})  # type: ignore[type-arg]
    for t in trips:
        by_day[local_day(t.start_ts, tz)]["trips"].append(t)
    for s in stops:
        by_day[local_day(s.start_ts, tz)]["stops"].append(s)
    for a in alerts:
        if a.state == "raised":
            by_day[local_day(a.ts, tz)]["alerts"].append(a)
    for x in sorted(samples, key=lambda x: x.ts_ms):
        if x.fuel_level_pct is not None:
            by_day[local_day(x.ts_ms, tz)]["fuel"].append(x.fuel_level_pct)
    out = []
    for day in sorted(by_day):
        d = by_day[day]
        ts: list[Trip] = d["trips"]
        km = round(sum(t.distance_km for t in ts), 3)
        trip_idle = sum(t.idle_s for t in ts)
        driving = sum(t.duration_s for t in ts) - trip_idle
        events = {k: sum(t.events.get(k, 0) for t in ts) for k in EVENT_KEYS}
        kinds: dict[str, int] = defaultdict(int)
        for a in d["alerts"]:
            kinds[a.type] += 1
        out.append(DaySummary(
            key=vehicle_id, day=day, vehicles=(vehicle_id,), trips=len(ts), distance_km=km, driving_s=driving,
            idle_s=trip_idle + sum(s.idle_s for s in d["stops"]), max_speed_kmh=max((t.max_speed_kmh for t in ts), default=0.0),
            mean_speed_kmh=_mean_speed(km, driving), stops=len(d["stops"]), stopped_s=sum(s.duration_s for s in d["stops"]),
            alerts=dict(sorted(kinds.items())), fuel_used_pct=fuel_used_pct(d["fuel"], cfg.refuel_rise_pct), events=events,
            trip_idle_s=trip_idle, safety_score=safety_score(km, events, trip_idle, cfg)))
    return out


def driver_days(days: Iterable[DaySummary], driver_of: Mapping[str, str | None], cfg: FleetSettings) -> list[DaySummary]:
    """Vehicle days added up per (driver, day); vehicles without an owner are left out."""
    groups: dict[tuple[str, str], list[DaySummary]] = defaultdict(list)
    for d in days:
        driver = driver_of.get(d.key)
        if driver:
            groups[(driver, d.day)].append(d)
    out = []
    for (driver, day), ds in sorted(groups.items()):
        km = round(sum(d.distance_km for d in ds), 3)
        driving = sum(d.driving_s for d in ds)
        events = {k: sum(d.events.get(k, 0) for d in ds) for k in EVENT_KEYS}
        alerts: dict[str, int] = defaultdict(int)
        for d in ds:
            for k, n in d.alerts.items():
                alerts[k] += n
        fuels = [d.fuel_used_pct for d in ds if d.fuel_used_pct is not None]
        trip_idle = sum(d.trip_idle_s for d in ds)
        out.append(DaySummary(
            key=driver, day=day, vehicles=tuple(sorted(v for d in ds for v in d.vehicles)), trips=sum(d.trips for d in ds),
            distance_km=km, driving_s=driving, idle_s=sum(d.idle_s for d in ds), max_speed_kmh=max(d.max_speed_kmh for d in ds),
            mean_speed_kmh=_mean_speed(km, driving), stops=sum(d.stops for d in ds), stopped_s=sum(d.stopped_s for d in ds),
            alerts=dict(sorted(alerts.items())), fuel_used_pct=round(sum(fuels), 2) if fuels else None, events=events,
            trip_idle_s=trip_idle, safety_score=safety_score(km, events, trip_idle, cfg)))
    return out
