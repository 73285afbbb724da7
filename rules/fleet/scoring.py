"""Safety score of a trip and of a vehicle's day.

penalty = (2.0 x harsh braking + 1.5 x harsh acceleration + 1.5 x harsh cornering
           + 3.0 x overspeed episodes + 1.0 x (idle minutes / 10)) x 100 / max(km, 10)
score   = clamp(100 - penalty, 0, 100), rounded to 0.1

i.e. weighted events per 100 km (weights in FleetSettings). The distance is floored at
``score_min_distance_km`` so one event on a 1 km trip costs 20 points, not 200. A day's
score uses the same formula on the day's totals (distance-weighted, not a mean of trip
scores); the day is the local date of the trip's start in the fleet's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from contracts.day_score import DayScore

from .config import FleetSettings

EVENT_KEYS = ("harsh_braking", "harsh_acceleration", "harsh_cornering", "overspeed")


def safety_score(distance_km: float, events: Mapping[str, int], idle_s: float, cfg: FleetSettings) -> float:
    """Score 0..100 from event counts (keys of EVENT_KEYS), idle seconds and distance."""
    weights = {
        "harsh_braking": cfg.score_weight_harsh_brake,
        "harsh_acceleration": cfg.score_weight_harsh_accel,
        "harsh_cornering": cfg.score_weight_harsh_corner,
        "overspeed": cfg.score_weight_overspeed,
    }
    points = sum(weights[k] * events.get(k, 0) for k in EVENT_KEYS) + cfg.score_weight_idle_10min * idle_s / 600
    penalty = points * 100 / max(distance_km, cfg.score_min_distance_km)
    return round(min(100.0, max(0.0, 100.0 - penalty)), 1)


@dataclass(frozen=True)
class DailyState:
    days: Mapping[str, DayScore] = field(default_factory=dict)  # newest few days only


def local_day(ts_ms: int, tz: str) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(ZoneInfo(tz)).date().isoformat()


def add_trip(state: DailyState, trip: object, tz: str, cfg: FleetSettings, keep_days: int = 3) -> tuple[DailyState, DayScore]:
    """Fold a finished Trip into its day; return the new state and the updated day record."""
    day = local_day(trip.start_ts, tz)  # type: ignore[attr-defined]
    cur = state.days.get(day) or DayScore(trip.vehicle_id, day)  # type: ignore[attr-defined]
    events = {k: cur.events.get(k, 0) + trip.events.get(k, 0) for k in EVENT_KEYS}  # type: ignore[attr-defined]
    distance = cur.distance_km + trip.distance_km  # type: ignore[attr-defined]
    idle = cur.idle_s + trip.idle_s  # type: ignore[attr-defined]
    new = replace(cur, trips=cur.trips + 1, distance_km=round(distance, 3), duration_s=cur.duration_s + trip.duration_s,  # type: ignore[attr-defined]
                  idle_s=idle, events=events, score=safety_score(distance, events, idle, cfg))
    days = dict(state.days)
    days[day] = new
    for old in sorted(days)[:-keep_days]:
        del days[old]
    return DailyState(days), new
