"""Every setting of the API, declared once, typed, with its unit and default (environment prefix ``API_``).

Connection settings (InfluxDB) come from ``settings.stack``; the users file is the dashboard's
(``DASHBOARD_USERS_FILE``) - one user store. Secrets are never settings: the signing key lives in
``API_SIGNING_KEY_FILE`` (created mode 600 on first start), client secrets only as hashes.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.rate_limit import parse_rate
from settings.errors import load_settings
from settings.stack import REPO_ROOT
from settings.topics import CRYPTO_SPREADS, FLEET_ALERTS, FLEET_CONFIG, FLEET_TELEMETRY

VAR = REPO_ROOT / "var"


class ApiSettings(BaseSettings):
    """Where the API listens, how long its tokens live, where it keeps keys, clients and refresh tokens."""

    # populate_by_name: ApiSettings(users_file=...) must work beside the DASHBOARD_USERS_FILE alias (without it
    # the tests' own users file was silently ignored and the repo's config file written instead).
    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore", frozen=True, populate_by_name=True)

    host: str = Field("127.0.0.1", description="address uvicorn binds to (loopback unless put behind a gateway)")
    port: int = Field(8000, ge=1, le=65535, description="TCP port")
    issuer: str = Field("ticktrack", description="iss claim of the access tokens")
    audience: str = Field("ticktrack-api", description="aud claim the API issues and requires")
    access_token_ttl_s: int = Field(600, ge=30, le=3600, description="s; lifetime of an access token (JWT)")
    refresh_token_ttl_s: int = Field(14 * 86400, ge=300, description="s; lifetime of a refresh token (rotated on every use)")
    signing_key_file: Path = Field(VAR / "api-signing.key", description="HS256 key of the access tokens; created mode 600 on first start")
    clients_file: Path = Field(VAR / "api-clients.json", description="integration clients (client_credentials), secrets as SHA-256 only")
    refresh_tokens_file: Path = Field(VAR / "api-refresh-tokens.sqlite", description="refresh tokens (SHA-256 only), their rotation and revocation")
    token_attempts_file: Path = Field(VAR / "api-token-attempts.sqlite", description="failed token requests per user name / client id and per peer")
    users_file: Path = Field(REPO_ROOT / "config" / "dashboard-users.json",
                             validation_alias=AliasChoices("DASHBOARD_USERS_FILE", "API_USERS_FILE"),
                             description="the dashboard's users file (DASHBOARD_USERS_FILE): one user store")
    vehicles_file: Path = Field(REPO_ROOT / "config" / "vehicles.json",
                                validation_alias=AliasChoices("DASHBOARD_VEHICLES_FILE", "API_VEHICLES_FILE"),
                                description="the registry file the fleet flows and the dashboard read (DASHBOARD_VEHICLES_FILE)")
    geofences_file: Path = Field(REPO_ROOT / "config" / "geofences.geojson",
                                 validation_alias=AliasChoices("DASHBOARD_GEOFENCES_FILE", "API_GEOFENCES_FILE"),
                                 description="the geofences file the fleet flows and the dashboard read (DASHBOARD_GEOFENCES_FILE)")
    config_topic: str = Field(FLEET_CONFIG, description="compacted Kafka topic registry changes are published to (and read from)")
    mqtt_var_dir: Path = Field(VAR, description="the stack's var folder (TICKTRACK_VAR): device passwords go to its mosquitto/passwd")
    max_token_failures: int = Field(5, ge=1, description="failed token requests per user name / client id within the window before it is locked")
    max_token_failures_per_peer: int = Field(20, ge=1, description="failed token requests per peer address within the window before it is locked")
    token_failure_window_s: float = Field(900.0, gt=0, description="s; failures older than this no longer count")
    token_lockout_s: float = Field(300.0, gt=0, description="s; how long a locked name, client or peer may not get a token")
    rate_limit: str = Field("120/minute", description="requests per client (token subject) in a moving window, per API process; more is a 429")
    token_rate_limit: str = Field("30/minute", description="token requests per peer address in a moving window (before the failure lock)")
    default_limit: int = Field(100, ge=1, description="items per page when the request names no limit")
    max_limit: int = Field(1000, ge=1, description="largest limit a request may ask for (items or points)")
    position_lookback_h: float = Field(168.0, gt=0, description="h; a vehicle is listed when it has a position this recent (as the fleet map)")
    offline_after_s: float = Field(600.0, gt=0, description="s without telemetry before a vehicle is offline (as the dashboard)")
    moving_kmh: float = Field(2.0, ge=0, description="km/h; above this a vehicle is moving, else idle (as the dashboard)")
    alerting_window_s: float = Field(900.0, gt=0, description="s; a warning/critical alert this recent makes the vehicle alerting")
    raw_max_range_h: float = Field(2.0, gt=0, description="h; longer telemetry ranges read the stats_1m aggregate")
    default_range_h: float = Field(24.0, gt=0, description="h; range of alerts, trips and spreads when the request names no from")
    symbol_lookback_h: float = Field(24.0, gt=0, description="h; a symbol is known when it has spreads this recent")
    stream: bool = Field(True, description="serve /v1/stream (alerts, positions and spreads from Kafka over a WebSocket)")
    alerts_topic: str = Field(FLEET_ALERTS, description="Kafka topic the stream reads alerts from")
    positions_topic: str = Field(FLEET_TELEMETRY, description="Kafka topic (Avro telemetry) the stream reads positions from")
    spreads_topic: str = Field(CRYPTO_SPREADS, description="Kafka topic the stream reads spreads from")
    stream_max_replay: int = Field(10_000, ge=0, description="records per partition a reconnect may replay; older ones are a gap")
    stream_auth_timeout_s: float = Field(5.0, gt=0, description="s; a stream connection must send its token within this")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS (JSON list); empty = CORS off")
    allow_operator_token: bool = Field(False, description="development only: read InfluxDB with INFLUX_TOKEN when INFLUX_READ_TOKEN is not set")

    @field_validator("rate_limit", "token_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value


def load_api_settings() -> ApiSettings:
    """Settings from the environment (read on every call, so tests can change it); a bad value names its variable."""
    return load_settings(ApiSettings)
