"""Registry entries: the fleet, vehicle and maintenance-rule records of the registry file
(``config/vehicles.json``) and of the compacted topic ``fleet.config`` (key ``fleet:<id>`` /
``vehicle:<id>``, the same JSON; null = deleted). Strict (frozen, unknown keys refused), so
the flows and the dashboard read an entry the same way.

Geofences travel as GeoJSON Features; their parser builds shapes in metres and lives with the
rules (``rules/fleet/geofence_shapes.py``). Reading whole documents and applying changes is
``rules/fleet/registry.py``.
"""

from __future__ import annotations

import zoneinfo
from datetime import date
from functools import cache

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class ServicePoint(BaseModel):
    """When a service was last done."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    date: date
    odometer_km: float | None = Field(None, ge=0)
    engine_hours: float | None = Field(None, ge=0)


class MaintenanceRule(BaseModel):
    """A service interval; at least one of the three periods."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1)
    name: str
    every_km: float | None = Field(None, gt=0)
    every_engine_hours: float | None = Field(None, gt=0)
    every_months: int | None = Field(None, gt=0)
    repeat_days: float | None = Field(None, gt=0, description="days between reminders while overdue")
    repeat_km: float | None = Field(None, gt=0, description="km between reminders while overdue")
    repeat_engine_hours: float | None = Field(None, gt=0, description="engine hours between reminders while overdue")
    suggestion: str = ""

    @model_validator(mode="after")
    def _one_period(self) -> MaintenanceRule:
        if self.every_km is None and self.every_engine_hours is None and self.every_months is None:
            raise ValueError(f"maintenance rule {self.id!r} needs every_km, every_engine_hours or every_months")
        return self


@cache
def iana_zones() -> frozenset[str]:
    """Every IANA zone name zoneinfo knows (tzdata's, or the system's)."""
    return frozenset(zoneinfo.available_timezones())


class Fleet(BaseModel):
    """A fleet's settings. ``country`` / ``region`` / ``timezone`` are optional: no country means
    none is assumed, no zone means UTC for reports and ``score_timezone`` for daily scores."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1)
    name: str
    speed_limit_kmh: float | None = Field(None, gt=0, description="km/h; fleet default limit")
    timezone: str | None = Field(None, description="IANA zone of daily scores and report days (default: UTC / score_timezone)")
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 code, upper case (default: none)")
    region: str | None = Field(None, description="ISO 3166-2 code of a first-level region of the country (default: none)")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in iana_zones():
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'Europe/Berlin')")
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 2 or not value.isupper() or pycountry.countries.get(alpha_2=value) is None):
            raise ValueError(f"unknown ISO 3166-1 alpha-2 country code {value!r} (upper case, e.g. 'DE')")
        return value

    @model_validator(mode="after")
    def _region_of_country(self) -> Fleet:
        if self.region is None:
            return self
        sub = pycountry.subdivisions.get(code=self.region)  # type: ignore[no-untyped-call]
        if sub is None or sub.parent_code is not None:
            raise ValueError(f"region: unknown first-level ISO 3166-2 region {self.region!r} (e.g. 'DE-BE')")
        if sub.country_code != self.country:
            raise ValueError(f"region: {self.region!r} is not a region of country {self.country!r}")
        return self


class Vehicle(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    name: str
    fleet_id: str | None = None
    owner: str | None = None
    active: bool = True
    speed_limit_kmh: float | None = Field(None, gt=0)
    last_service: dict[str, ServicePoint] = Field(default_factory=dict, description="maintenance rule id -> last service")
