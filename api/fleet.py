"""Fleet reads: vehicles, one vehicle, its telemetry, alerts, trips - the dashboard's data scope exactly.

Every read goes through ``access.reads`` with the caller's ``Scope``, so the filter InfluxDB
applies is the dashboard's. A vehicle outside the scope and a vehicle that does not exist get
the same 404 with the same body (never a hint that it exists). A vehicle is known when it has a
position within ``API_POSITION_LOOKBACK_H`` (the fleet map's rule).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Security
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from shapely.geometry import LineString, Point, mapping

from access.reads import ALERT_COLUMNS, TRIP_COLUMNS, ScopeError, window_for
from access.status import with_status
from api.context import ApiContext, get_context
from api.frames import rows
from api.models import AlertPage, Health, SafetyScore, SafetyScorePage, Telemetry, TelemetryPoint, TripPage, Vehicle, VehiclePage
from api.problems import Problem, not_found
from api.security import Principal, current_principal

router = APIRouter(tags=["fleet"])
FleetReader = Annotated[Principal, Security(current_principal, scopes=["fleet:read"])]
Context = Annotated[ApiContext, Depends(get_context)]
VEHICLE_FIELDS = list(Vehicle.model_fields)
TELEMETRY_FIELDS = list(TelemetryPoint.model_fields)


def page_limit(ctx: ApiContext, limit: int | None) -> int:
    """The request's limit, or the default; more than ``API_MAX_LIMIT`` is a 400."""
    if limit is None:
        return ctx.settings.default_limit
    if limit < 1 or limit > ctx.settings.max_limit:
        raise Problem(400, "invalid-request", f"limit must be between 1 and {ctx.settings.max_limit}")
    return limit


def time_window(ctx: ApiContext, start: datetime | None, stop: datetime | None, default: timedelta) -> tuple[datetime, datetime]:
    """``from`` / ``to`` as UTC; defaults: the last ``default`` up to now. ``from`` must be before ``to``."""
    stop = _utc(stop) if stop else datetime.now(UTC)
    start = _utc(start) if start else stop - default
    if start >= stop:
        raise Problem(400, "invalid-request", "from must be before to")
    return start, stop


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def overview(ctx: ApiContext, principal: Principal) -> pd.DataFrame:
    """Vehicles in scope with their latest position and status (the fleet map's table)."""
    s = ctx.settings
    positions = ctx.reads.latest_positions(principal.data, timedelta(hours=s.position_lookback_h))
    counts = ctx.reads.recent_alert_counts(principal.data, timedelta(seconds=s.alerting_window_s))
    return with_status(positions, counts, datetime.now(UTC), s.offline_after_s, s.moving_kmh)


def visible_vehicle(ctx: ApiContext, principal: Principal, vehicle_id: str) -> dict[str, Any]:
    """The vehicle's row, or 404 - for unknown and foreign vehicles alike."""
    if not principal.data.sees_fleet_data:
        raise not_found(f"no vehicle {vehicle_id!r}")
    df = overview(ctx, principal)
    found = rows(df[df["vehicle_id"] == vehicle_id], VEHICLE_FIELDS)
    if not found:
        raise not_found(f"no vehicle {vehicle_id!r}")
    return found[0]


@router.get("/vehicles", response_model=VehiclePage, summary="Vehicles in the token's data scope, with latest position and status")
def list_vehicles(principal: FleetReader, ctx: Context, limit: Annotated[int | None, Query(description="items per page")] = None,
                  after: Annotated[str | None, Query(description="vehicle id of the previous page's last item")] = None) -> VehiclePage:
    """Ordered by vehicle id; ``next_after`` continues."""
    n = page_limit(ctx, limit)
    df = overview(ctx, principal)
    if after is not None:
        df = df[df["vehicle_id"] > after]
    items = rows(df.sort_values("vehicle_id").head(n + 1), VEHICLE_FIELDS)
    more = len(items) > n
    items = items[:n]
    return VehiclePage(items=[Vehicle(**i) for i in items], limit=n, next_after=items[-1]["vehicle_id"] if more else None)


@router.get("/vehicles/{vehicle_id}", response_model=Vehicle, summary="One vehicle: latest position and status",
            responses={404: {"description": "unknown, or outside the token's data scope"}})
def get_vehicle(vehicle_id: str, principal: FleetReader, ctx: Context) -> Vehicle:
    return Vehicle(**visible_vehicle(ctx, principal, vehicle_id))


@router.get("/vehicles/{vehicle_id}/telemetry", response_model=Telemetry, summary="Telemetry of one vehicle in a time range",
            responses={404: {"description": "unknown, or outside the token's data scope"}})
def vehicle_telemetry(vehicle_id: str, principal: FleetReader, ctx: Context,
                      start: Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: an hour before to")] = None,
                      stop: Annotated[datetime | None, Query(alias="to", description="ISO 8601; default: now")] = None,
                      limit: Annotated[int | None, Query(description="most points; denser ranges are averaged per window by InfluxDB")] = None,
                      ) -> Telemetry:
    """Raw telemetry up to ``API_RAW_MAX_RANGE_H``, ``stats_1m`` beyond; at most ``limit`` points, oldest first."""
    n = page_limit(ctx, limit)
    t0, t1 = time_window(ctx, start, stop, timedelta(hours=1))
    visible_vehicle(ctx, principal, vehicle_id)
    try:
        df, source = ctx.reads.vehicle_series(principal.data, vehicle_id, t0, t1, timedelta(hours=ctx.settings.raw_max_range_h), n)
    except ScopeError as exc:  # cannot happen after visible_vehicle; kept a 404, never a 500 or a leak
        raise not_found(f"no vehicle {vehicle_id!r}") from exc
    points = [TelemetryPoint(**p) for p in rows(df, TELEMETRY_FIELDS)]
    return Telemetry(vehicle_id=vehicle_id, source=source, points=points[:n])


def _event_page(df: pd.DataFrame, columns: list[str], n: int, offset: int) -> tuple[list[dict[str, Any]], int | None]:
    """The page's items and the next page's offset (None on the last page); ``df`` holds up to n + 1 rows."""
    items = rows(df, columns)
    return (items, None) if len(items) <= n else (items[:n], offset + n)


def page_offset(offset: int | None) -> int:
    if offset is not None and offset < 0:
        raise Problem(400, "invalid-request", "offset must be 0 or more")
    return offset or 0


@router.get("/alerts", response_model=AlertPage, summary="Alerts in the token's data scope, newest first")
def list_alerts(principal: FleetReader, ctx: Context,
                start: Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: API_DEFAULT_RANGE_H before to")] = None,
                stop: Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive; default: now")] = None,
                vehicle_id: Annotated[list[str] | None, Query(description="repeat for several")] = None,
                type: Annotated[list[str] | None, Query(description="alert type (docs/alerts.md); repeat for several")] = None,
                severity: Annotated[list[str] | None, Query(description="info | warning | critical; repeat for several")] = None,
                limit: Annotated[int | None, Query(description="items per page")] = None,
                offset: Annotated[int | None, Query(description="items to skip (from the previous page's next_offset)")] = None,
                ) -> AlertPage:
    """Filters combine with and; each filter's values with or. The same ``to`` with ``next_offset`` continues."""
    n, skip = page_limit(ctx, limit), page_offset(offset)
    t0, t1 = time_window(ctx, start, stop, timedelta(hours=ctx.settings.default_range_h))
    df = ctx.reads.alerts(principal.data, t0, t1, n + 1, vehicles=vehicle_id, types=type, severities=severity, offset=skip)
    items, next_offset = _event_page(df, ALERT_COLUMNS, n, skip)
    return AlertPage(items=items, limit=n, to=t1, next_offset=next_offset)


@router.get("/trips", response_model=TripPage, summary="Trips in the token's data scope, newest (by end) first")
def list_trips(principal: FleetReader, ctx: Context,
               start: Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: API_DEFAULT_RANGE_H before to")] = None,
               stop: Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive; default: now")] = None,
               vehicle_id: Annotated[list[str] | None, Query(description="repeat for several")] = None,
               fleet_id: Annotated[list[str] | None, Query(description="repeat for several")] = None,
               limit: Annotated[int | None, Query(description="items per page")] = None,
               offset: Annotated[int | None, Query(description="items to skip (from the previous page's next_offset)")] = None,
               ) -> TripPage:
    """The same ``to`` with ``next_offset`` continues with older trips."""
    n, skip = page_limit(ctx, limit), page_offset(offset)
    t0, t1 = time_window(ctx, start, stop, timedelta(hours=ctx.settings.default_range_h))
    df = ctx.reads.trips(principal.data, t0, t1, n + 1, vehicles=vehicle_id, fleets=fleet_id, offset=skip)
    items, next_offset = _event_page(df, TRIP_COLUMNS, n, skip)
    return TripPage(items=items, limit=n, to=t1, next_offset=next_offset)



@router.get("/vehicles/{vehicle_id}/health", response_model=Health, summary="The vehicle's latest health report and next service",
            responses={404: {"description": "unknown, or outside the token's data scope"}})
def vehicle_health(vehicle_id: str, principal: FleetReader, ctx: Context) -> Health:
    """Empty fields when the health rules have reported nothing within API_POSITION_LOOKBACK_H."""
    visible_vehicle(ctx, principal, vehicle_id)
    fields = ctx.reads.latest_fields(principal.data, "health", vehicle_id, timedelta(hours=ctx.settings.position_lookback_h))
    row = rows(pd.DataFrame([fields]), list(Health.model_fields))[0] if fields else {}
    return Health(**{**row, "vehicle_id": vehicle_id})


@router.get("/safety-scores", response_model=SafetyScorePage, summary="Daily safety score per vehicle in the token's data scope")
def safety_scores(principal: FleetReader, ctx: Context,
                  start: Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: 7 days before to")] = None,
                  stop: Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive; default: now")] = None,
                  limit: Annotated[int | None, Query(description="most items, newest first")] = None) -> SafetyScorePage:
    n = page_limit(ctx, limit)
    t0, t1 = time_window(ctx, start, stop, timedelta(days=7))
    df = ctx.reads.safety_daily(principal.data, t0, t1, n)
    return SafetyScorePage(items=[SafetyScore(**r) for r in rows(df, list(SafetyScore.model_fields))], limit=n)


class Position(BaseModel):
    time: datetime = Field(description="the fix's time; in a windowed answer the window's end")
    lat: float
    lon: float
    speed_kmh: float | None = None


class Positions(BaseModel):
    vehicle_id: str
    source: str = Field(description="raw (every fix), or 'last per <window>' for ranges over API_RAW_MAX_RANGE_H")
    positions: list[Position] = Field(description="oldest first")
    next_from: datetime | None = Field(None, description="raw pages: pass as ?from= (same to) for the next page; null on the last")


GEOJSON = "application/geo+json"  # RFC 7946 12


def _geojson(vehicle_id: str, page: Positions, geometry: str) -> dict[str, Any]:
    """A FeatureCollection: one LineString of the fixes (a Point when there is one), or a Point per fix; lon, lat order.
    ``source`` and ``next_from`` ride along as foreign members (RFC 7946 6.1)."""
    points = [p.model_dump(mode="json") for p in page.positions]
    coords = [(p["lon"], p["lat"]) for p in points]
    if geometry == "points" or len(coords) == 1:
        features = [{"type": "Feature", "geometry": mapping(Point(c)),
                     "properties": {"vehicle_id": vehicle_id, "time": p["time"], "speed_kmh": p["speed_kmh"]}}
                    for c, p in zip(coords, points, strict=True)]
    elif coords:
        features = [{"type": "Feature", "geometry": mapping(LineString(coords)),
                     "properties": {"vehicle_id": vehicle_id, "start": points[0]["time"], "end": points[-1]["time"],
                                    "times": [p["time"] for p in points], "speeds_kmh": [p["speed_kmh"] for p in points]}}]
    else:
        features = []
    rest = page.model_dump(mode="json", include={"source", "next_from"})
    return {"type": "FeatureCollection", "features": features, **rest}


@router.get("/vehicles/{vehicle_id}/positions", response_model=Positions, summary="Position history of one vehicle, as JSON or GeoJSON",
            responses={200: {"content": {GEOJSON: {}}, "description": "JSON; with format=geojson an RFC 7946 FeatureCollection"},
                       404: {"description": "unknown, or outside the token's data scope"}})
def vehicle_positions(vehicle_id: str, principal: FleetReader, ctx: Context,
                      start: Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: an hour before to")] = None,
                      stop: Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive; default: now")] = None,
                      limit: Annotated[int | None, Query(description="fixes per page (raw) or most windows (longer ranges)")] = None,
                      format: Annotated[Literal["json", "geojson"], Query(description="geojson: application/geo+json")] = "json",
                      geometry: Annotated[Literal["line", "points"], Query(description="geojson: one LineString, or a Point per fix")] = "line",
                      ) -> Positions | JSONResponse:
    """Oldest first. Up to ``API_RAW_MAX_RANGE_H`` every fix, ``limit`` a page (``next_from`` continues); longer
    ranges at most ``limit`` fixes, the last of each window (InfluxDB), in one answer."""
    n = page_limit(ctx, limit)
    t0, t1 = time_window(ctx, start, stop, timedelta(hours=1))
    visible_vehicle(ctx, principal, vehicle_id)
    span = t1 - t0
    raw = span <= timedelta(hours=ctx.settings.raw_max_range_h)
    try:  # raw: as many points as the range has seconds, so InfluxDB windows nothing
        df = ctx.reads.route(principal.data, vehicle_id, t0, t1, int(span.total_seconds()) + 1 if raw else n)
    except ScopeError as exc:  # cannot happen after visible_vehicle; a 404 all the same
        raise not_found(f"no vehicle {vehicle_id!r}") from exc
    found = [Position(**p) for p in rows(df, list(Position.model_fields))]
    more = raw and len(found) > n
    every = None if raw else window_for(t0, t1, n, timedelta(seconds=1))  # what Reads.route windows by
    page = Positions(vehicle_id=vehicle_id, source=f"last per {every}" if every else "raw", positions=found[:n],
                     next_from=found[n - 1].time + timedelta(milliseconds=1) if more else None)
    if format == "geojson":
        return JSONResponse(_geojson(vehicle_id, page, geometry), media_type=GEOJSON)
    return page
