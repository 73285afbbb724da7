"""Every setting of the dashboard, declared once, typed, with its unit and default.

Read from the environment with the prefix ``DASHBOARD_`` (``DASHBOARD_REFRESH_S=10``).
Connection settings (InfluxDB, Kafka) are not here: they come from ``settings.stack``.
Pages get a ``DashboardSettings`` from ``load_dashboard_settings()``; nothing reads
the environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings.stack import REPO_ROOT
from settings.topics import FLEET_ACKS


class DashboardSettings(BaseSettings):
    """What the dashboard shows and how fresh; defaults suit a fleet of a few thousand vehicles."""

    model_config = SettingsConfigDict(env_prefix="DASHBOARD_", extra="ignore", frozen=True)

    users_file: Path = Field(REPO_ROOT / "config" / "dashboard-users.json", description="JSON file of users with bcrypt hashes")
    vehicles_file: Path = Field(REPO_ROOT / "config" / "vehicles.json", description="vehicle registry (JSON) the fleet flows read too")
    geofences_file: Path = Field(REPO_ROOT / "config" / "geofences.geojson", description="geofences (GeoJSON FeatureCollection)")
    live_config: bool = Field(True, description="overlay the registry with the compacted Kafka topic fleet.config")
    acks_topic: str = Field(FLEET_ACKS, description="compacted Kafka topic of incident acknowledgements (docs/alerts.md#acknowledgement)")
    refresh_s: float = Field(5.0, gt=0, description="s; auto-refresh period of the fleet map and live alert feed")
    offline_after_s: float = Field(600.0, gt=0, description="s without telemetry before a vehicle shows offline (Traccar: 600)")
    moving_kmh: float = Field(2.0, ge=0, description="km/h; above this the vehicle is moving, else idle (fleet rules: idle_speed_kmh)")
    alerting_window_s: float = Field(900.0, gt=0, description="s; a warning/critical alert this recent marks the vehicle alerting")
    position_lookback_h: float = Field(168.0, gt=0, description="h; how far back the map looks for a vehicle's last position")
    raw_max_range_h: float = Field(2.0, gt=0, description="h; longer ranges read the stats_1m aggregate, not raw telemetry")
    max_points: int = Field(1500, ge=100, description="points per chart series; longer ranges are windowed in InfluxDB")
    max_rows: int = Field(5000, ge=10, description="rows per table (alerts, trips); the newest are kept")
    quote_stale_after_s: float = Field(30.0, gt=0, description="s; an exchange quote older than this is shown stale")
    map_style: str = Field("open-street-map", description="plotly map style that needs no token")
    bcrypt_rounds: int = Field(12, ge=4, le=16, description="bcrypt cost of new password hashes")
    max_sign_in_failures: int = Field(5, ge=1, description="failed sign-ins per user name (existing or not) within the window before it is locked")
    max_sign_in_failures_per_client: int = Field(20, ge=1, description="failed sign-ins per client address within the window before it is locked")
    sign_in_window_s: float = Field(900.0, gt=0, description="s; failures older than this no longer count")
    sign_in_lockout_s: float = Field(300.0, gt=0, description="s; how long a locked user name or client may not sign in")
    sign_in_attempts_file: Path = Field(REPO_ROOT / "var" / "dashboard-sign-in.sqlite",
                                        description="sqlite file of failed sign-ins, shared by every session and dashboard process")
    allow_operator_token: bool = Field(False, description="development only: read InfluxDB with INFLUX_TOKEN when INFLUX_READ_TOKEN is not set")


def load_dashboard_settings() -> DashboardSettings:
    """Settings from the environment (read on every call, so tests can change it)."""
    return DashboardSettings()
