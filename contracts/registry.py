"""Registry entries: the fleet, vehicle and maintenance-rule records of the registry file
(``config/vehicles.json``) and of the compacted topic ``fleet.config`` (key ``fleet:<id>`` /
``vehicle:<id>``, the same JSON; null = deleted). Strict (frozen, unknown keys refused), so
the flows and the dashboard read an entry the same way.

Geofences travel as GeoJSON Features; their parser builds shapes in metres and lives with the
rules (``rules/fleet/geofence_shapes.py``). Reading whole documents and applying changes is
``rules/fleet/registry.py``.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


class Fleet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1)
    name: str
    speed_limit_kmh: float | None = Field(None, gt=0, description="km/h; fleet default limit")
    timezone: str | None = Field(None, description="IANA zone of daily scores")


class Vehicle(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    name: str
    fleet_id: str | None = None
    owner: str | None = None
    active: bool = True
    speed_limit_kmh: float | None = Field(None, gt=0)
    last_service: dict[str, ServicePoint] = Field(default_factory=dict, description="maintenance rule id -> last service")
