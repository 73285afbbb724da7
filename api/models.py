"""Response bodies, so /openapi.json describes every field an integrator gets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Vehicle(BaseModel):
    """A vehicle with its latest position and the fleet map's status."""

    vehicle_id: str
    fleet_id: str | None
    time: datetime = Field(description="time of the latest fix (UTC)")
    lat: float
    lon: float
    speed_kmh: float | None = None
    heading_deg: float | None = None
    ignition: bool | None = None
    status: str = Field(description="offline | alerting | moving | idle (docs/dashboard.md)")
    alerts: int = Field(description="warning / critical alerts in the alerting window (API_ALERTING_WINDOW_S)")
    age_s: float = Field(description="s since the latest fix")


class VehiclePage(BaseModel):
    items: list[Vehicle]
    limit: int
    next_after: str | None = Field(None, description="pass as ?after= for the next page; null on the last page")


class TelemetryPoint(BaseModel):
    time: datetime
    speed_kmh: float | None = None
    rpm: float | None = None
    coolant_temp_c: float | None = None
    battery_v: float | None = None
    fuel_level_pct: float | None = None
    tire_fl_kpa: float | None = None
    tire_fr_kpa: float | None = None
    tire_rl_kpa: float | None = None
    tire_rr_kpa: float | None = None
    speed_mean_kmh: float | None = None
    speed_max_kmh: float | None = None
    rpm_mean: float | None = None
    coolant_max_c: float | None = None
    fuel_last_pct: float | None = None
    battery_last_v: float | None = None


class Telemetry(BaseModel):
    vehicle_id: str
    source: str = Field(description="telemetry (raw, or 'mean per <window>') or stats_1m (long ranges)")
    points: list[TelemetryPoint]


class Alert(BaseModel):
    time: datetime
    alert_id: str | None = None
    vehicle_id: str | None = None
    fleet_id: str | None = None
    type: str | None = None
    severity: str | None = None
    message: str | None = None
    value: float | None = None
    threshold: float | None = None
    lat: float | None = None
    lon: float | None = None
    geofence_id: str | None = None


class AlertPage(BaseModel):
    items: list[Alert]
    limit: int
    to: datetime = Field(description="the page's upper time bound (exclusive): pass it again with next_offset for the next page")
    next_offset: int | None = Field(None, description="pass as ?offset= (with the same to) for the next, older page; null on the last page")


class Trip(BaseModel):
    time: datetime = Field(description="trip end")
    trip_id: str | None = None
    vehicle_id: str | None = None
    fleet_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    distance_km: float | None = None
    duration_s: float | None = None
    max_speed_kmh: float | None = None
    mean_speed_kmh: float | None = None
    idle_s: float | None = None
    harsh_events: int | None = None
    overspeed_events: int | None = None
    score: float | None = None
    start_lat: float | None = None
    start_lon: float | None = None
    end_lat: float | None = None
    end_lon: float | None = None


class TripPage(BaseModel):
    items: list[Trip]
    limit: int
    to: datetime = Field(description="the page's upper time bound (exclusive): pass it again with next_offset for the next page")
    next_offset: int | None = Field(None, description="pass as ?offset= (with the same to) for the next, older page; null on the last page")


class Symbols(BaseModel):
    symbols: list[str]


class SpreadPoint(BaseModel):
    time: datetime
    best_bid: float | None = None
    best_bid_exchange: str | None = None
    best_ask: float | None = None
    best_ask_exchange: str | None = None
    mid: float | None = None
    spread: float | None = None
    spread_pct: float | None = None
    arbitrage_pct_after_fees: float | None = None
    exchanges_counted: int | None = None
    exchanges_excluded: int | None = None


class Spreads(BaseModel):
    symbol: str
    points: list[SpreadPoint]


class Health(BaseModel):
    """The vehicle-health rules' latest report (docs/alerts.md: health)."""

    vehicle_id: str
    time: datetime | None = None
    status: str | None = Field(None, description="ok | attention | ...")
    issues: str | None = None
    suggestions: str | None = None
    active_dtc: str | None = Field(None, description="comma separated diagnostic trouble codes")
    next_service: str | None = None
    next_service_km: float | None = None
    next_service_date: str | None = None
    next_service_overdue: bool | None = None


class SafetyScore(BaseModel):
    time: datetime = Field(description="start of the day (UTC)")
    vehicle_id: str | None = None
    fleet_id: str | None = None
    score: float | None = None
    distance_km: float | None = None
    trips: int | None = None


class SafetyScorePage(BaseModel):
    items: list[SafetyScore]
    limit: int


class Quote(BaseModel):
    exchange: str
    time: datetime
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None


class Quotes(BaseModel):
    symbol: str
    quotes: list[Quote]


class Candle(BaseModel):
    time: datetime
    exchange: str
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float | None = None


class Ohlc(BaseModel):
    symbol: str
    candles: list[Candle]
