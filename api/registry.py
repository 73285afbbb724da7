"""Registry writes and geofences: vehicles activate / deactivate / speed limit, geofences list / create / replace / delete.

Every change goes through ``access.fleet_config.publish`` - the dashboard admin page's publisher:
checked with the fleet flows' own parser, sent to the compacted topic ``API_CONFIG_TOPIC``
(``fleet.config``) and answered only once Kafka acknowledged it; the flows apply it within a
second. The registry a request sees is the files overlaid with the topic read to its end at that
moment (``live_registry``), so a write follows the previous one.

Scopes: reads need ``fleet:read``, writes ``fleet:write``; the data scope is the dashboard's. A
vehicle or geofence outside it is a 404 like an unknown one. A geofence a fleet manager writes
must target only fleets and vehicles of their scope (and at least one: an untargeted geofence
applies to every vehicle, so only an admin may write one) - otherwise 403 ``outside-data-scope``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Response, Security
from pydantic import BaseModel, Field

from access.fleet_config import PublishError, RegistryView, geofence_key, live_registry, publish, vehicle_key, vehicle_record
from access.scope import Scope
from api.context import ApiContext, get_context
from api.problems import Problem, not_found
from api.security import Principal, current_principal
from contracts.registry import Vehicle
from rules.fleet.geofence_shapes import Geofence, GeofenceError, parse_feature

router = APIRouter(tags=["registry"])
Reader = Annotated[Principal, Security(current_principal, scopes=["fleet:read"])]
Writer = Annotated[Principal, Security(current_principal, scopes=["fleet:write"])]
Context = Annotated[ApiContext, Depends(get_context)]


class VehicleChange(BaseModel):
    """Fields to change; a field left out keeps its value."""

    active: bool | None = Field(None, description="false: the fleet rules ignore the vehicle (no alerts, no trips)")
    speed_limit_kmh: float | None = Field(None, gt=0, le=300, description="km/h; null = the fleet's default limit")


class VehicleConfig(BaseModel):
    """The vehicle's registry entry as published to ``fleet.config``."""

    vehicle_id: str
    name: str
    fleet_id: str | None
    owner: str | None
    active: bool
    speed_limit_kmh: float | None
    key: str = Field(description="the fleet.config key it was published under")


def registry(ctx: ApiContext) -> RegistryView:
    """The registry now: files + the config topic to its end; 503 when Kafka does not answer."""
    s = ctx.settings
    try:
        return live_registry(s.vehicles_file, s.geofences_file, ctx.kafka, s.config_topic)
    except (TimeoutError, RuntimeError) as exc:
        raise Problem(503, "unavailable", f"the registry topic {s.config_topic} cannot be read: {exc}") from exc


def _publish(ctx: ApiContext, key: str, value: dict[str, Any] | None) -> None:
    try:
        publish([(key, value)], ctx.kafka, ctx.settings.config_topic)
    except PublishError as exc:
        if str(exc).startswith("refused"):
            raise Problem(400, "invalid-request", str(exc)) from exc
        raise Problem(503, "unavailable", f"not published: {exc}") from exc


def _visible_vehicle(view: RegistryView, data: Scope, vehicle_id: str) -> Vehicle:
    v = view.vehicles.get(vehicle_id)
    if v is None or not data.allows(v.id, v.fleet_id):
        raise not_found(f"no vehicle {vehicle_id!r}")
    return v


def _change_vehicle(ctx: ApiContext, principal: Principal, vehicle_id: str, change: dict[str, Any]) -> VehicleConfig:
    current = _visible_vehicle(registry(ctx), principal.data, vehicle_id)
    record = vehicle_record(current, **change)
    try:
        changed = Vehicle.model_validate(record)
    except ValueError as exc:
        raise Problem(400, "invalid-request", str(exc)) from exc
    key = vehicle_key(vehicle_id)
    _publish(ctx, key, record)
    return VehicleConfig(vehicle_id=changed.id, name=changed.name, fleet_id=changed.fleet_id, owner=changed.owner,
                         active=changed.active, speed_limit_kmh=changed.speed_limit_kmh, key=key)


@router.patch("/vehicles/{vehicle_id}", response_model=VehicleConfig, summary="Change a vehicle's active flag and / or speed limit",
              responses={404: {"description": "unknown, or outside the token's data scope"}})
def patch_vehicle(vehicle_id: str, principal: Writer, ctx: Context, change: VehicleChange) -> VehicleConfig:
    """JSON merge: ``{"active": false}``, ``{"speed_limit_kmh": 80}``, ``{"speed_limit_kmh": null}`` (fleet default)."""
    return _change_vehicle(ctx, principal, vehicle_id, change.model_dump(exclude_unset=True))


@router.post("/vehicles/{vehicle_id}/activate", response_model=VehicleConfig, summary="The fleet rules follow the vehicle again")
def activate(vehicle_id: str, principal: Writer, ctx: Context) -> VehicleConfig:
    return _change_vehicle(ctx, principal, vehicle_id, {"active": True})


@router.post("/vehicles/{vehicle_id}/deactivate", response_model=VehicleConfig, summary="The fleet rules ignore the vehicle")
def deactivate(vehicle_id: str, principal: Writer, ctx: Context) -> VehicleConfig:
    return _change_vehicle(ctx, principal, vehicle_id, {"active": False})


# --- geofences

class FeatureCollection(BaseModel):
    type: str = "FeatureCollection"
    features: list[dict[str, Any]]


def _visible(view: RegistryView, data: Scope, g: Geofence) -> bool:
    return data.sees_geofence(g.vehicles, g.fleets, view.fleet_of())


def _parse(feature: Any, where: str) -> Geofence:
    try:
        return parse_feature(feature, where)
    except GeofenceError as exc:
        raise Problem(400, "invalid-request", str(exc)) from exc


def _check_targets(view: RegistryView, data: Scope, g: Geofence) -> None:
    """A non-admin may write a geofence only for their own fleets / vehicles (403 otherwise)."""
    if data.all_fleets:
        return
    fleet_of = view.fleet_of()
    outside = sorted(f"fleet {f}" for f in g.fleets if f not in data.fleets)
    outside += sorted(f"vehicle {v}" for v in g.vehicles if not data.allows(v, fleet_of.get(v)))
    if outside or not (g.fleets or g.vehicles):
        detail = (f"outside your data scope: {', '.join(outside)}" if outside
                  else "a geofence without fleets or vehicles applies to every vehicle: only an admin may write one")
        raise Problem(403, "outside-data-scope", detail)


def _existing(view: RegistryView, data: Scope, geofence_id: str) -> Geofence:
    g = view.geofences.get(geofence_id)
    if g is None or not _visible(view, data, g):
        raise not_found(f"no geofence {geofence_id!r}")
    return g


@router.get("/geofences", response_model=FeatureCollection, summary="Geofences in the token's data scope (GeoJSON)")
def list_geofences(principal: Reader, ctx: Context) -> FeatureCollection:
    """The GeoJSON Features the flows apply (files + fleet.config), ordered by id; a parent also sees their car's fleet's."""
    view = registry(ctx)
    return FeatureCollection(features=[dict(g.feature) for _, g in sorted(view.geofences.items()) if _visible(view, principal.data, g)])


@router.get("/geofences/{geofence_id}", summary="One geofence (GeoJSON Feature)", responses={404: {"description": "unknown or outside the scope"}})
def get_geofence(geofence_id: str, principal: Reader, ctx: Context) -> dict[str, Any]:
    return dict(_existing(registry(ctx), principal.data, geofence_id).feature)


@router.post("/geofences", status_code=201, summary="Create a geofence (GeoJSON Feature with properties.id)",
             responses={409: {"description": "the id is taken"}, 403: {"description": "targets outside the data scope"}})
def create_geofence(principal: Writer, ctx: Context, response: Response,
                    feature: Annotated[dict[str, Any], Body(description="GeoJSON Feature, docs/geofences.md")]) -> dict[str, Any]:
    g = _parse(feature, "request body")
    view = registry(ctx)
    _check_targets(view, principal.data, g)
    if g.id in view.geofences:
        raise Problem(409, "conflict", f"geofence id {g.id!r} is taken; PUT /v1/geofences/{g.id} replaces a geofence you see")
    _publish(ctx, geofence_key(g.id), feature)
    response.headers["Location"] = f"/v1/geofences/{g.id}"
    return feature


@router.put("/geofences/{geofence_id}", summary="Replace a geofence", responses={404: {"description": "unknown or outside the scope"}})
def replace_geofence(geofence_id: str, principal: Writer, ctx: Context,
                     feature: Annotated[dict[str, Any], Body(description="GeoJSON Feature; properties.id must be the path's")]) -> dict[str, Any]:
    view = registry(ctx)
    old = _existing(view, principal.data, geofence_id)
    _check_targets(view, principal.data, old)
    g = _parse(feature, "request body")
    if g.id != geofence_id:
        raise Problem(400, "invalid-request", f"properties.id {g.id!r} is not the path's {geofence_id!r}")
    _check_targets(view, principal.data, g)
    _publish(ctx, geofence_key(g.id), feature)
    return feature


@router.delete("/geofences/{geofence_id}", status_code=204, summary="Delete a geofence (a tombstone on fleet.config)",
               responses={404: {"description": "unknown or outside the scope"}})
def delete_geofence(geofence_id: str, principal: Writer, ctx: Context) -> Response:
    view = registry(ctx)
    _check_targets(view, principal.data, _existing(view, principal.data, geofence_id))
    _publish(ctx, geofence_key(geofence_id), None)
    return Response(status_code=204)
