"""Static geographic lists for integrators' forms (the design's "Utils" service): countries,
their first-level regions and time zones, from ``settings.geodata`` (pycountry, tzdata) - the
lists the dashboard's forms use. Any valid token; no data scope (nothing here is fleet data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Security
from pydantic import BaseModel

from api.problems import not_found
from api.security import Principal, current_principal
from settings.geodata import all_time_zones, countries, regions, time_zones

router = APIRouter(tags=["static data"])
Caller = Annotated[Principal, Security(current_principal, scopes=[])]


class Named(BaseModel):
    code: str
    name: str


@router.get("/countries", summary="ISO 3166-1 countries (alpha-2 code, name), by name")
def list_countries(_: Caller) -> list[Named]:
    return [Named(code=c, name=n) for c, n in countries()]


@router.get("/countries/{code}/regions", summary="First-level regions of a country (ISO 3166-2), by name")
def list_regions(code: str, _: Caller) -> list[Named]:
    try:
        return [Named(code=c, name=n) for c, n in regions(code)]
    except LookupError as exc:
        raise not_found(str(exc)) from exc


@router.get("/countries/{code}/time-zones", summary="IANA time zones used in a country")
def list_time_zones(code: str, _: Caller) -> list[str]:
    try:
        return time_zones(code)
    except LookupError as exc:
        raise not_found(str(exc)) from exc


@router.get("/time-zones", summary="Every IANA time zone (the names a fleet's timezone accepts), sorted")
def list_all_time_zones(_: Caller) -> list[str]:
    return all_time_zones()
