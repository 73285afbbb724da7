"""Every Kafka topic of ticktrack, with its partitions and retention, declared once.

``services/stack.sh up`` creates them; tests create their own uniquely named topics.
More partitions = more Bytewax workers can share a stream; see docs/scaling.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TopicSpec:
    """A topic and the settings it is created with."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


FLEET_TELEMETRY = "fleet.telemetry"
FLEET_DEADLETTER = "fleet.deadletter"
FLEET_ALERTS = "fleet.alerts"
FLEET_TRIPS = "fleet.trips"
FLEET_STOPS = "fleet.stops"  # stops, ended or of a silent vehicle (contracts/stop.py), key = vehicle_id
FLEET_CONFIG = "fleet.config"
FLEET_POINTS = "fleet.points"
FLEET_ACKS = "fleet.acks"  # acknowledgements of incidents, key = incident_id (contracts/ack.py)
CRYPTO_TICKERS = "crypto.tickers"
CRYPTO_SPREADS = "crypto.spreads"
CRYPTO_ALERTS = "crypto.alerts"
CRYPTO_DEADLETTER = "crypto.deadletter"
CRYPTO_POINTS = "crypto.points"
CRYPTO_FORECASTS = "crypto.forecasts"  # walk-forward forecasts per symbol, horizon and model (contracts/forecast.py)
CRYPTO_EXCHANGE_STATUS = "crypto.exchange_status"  # the collector's per-exchange counters (contracts/exchange_health.py)

WEEK_MS = str(7 * 24 * 3600 * 1000)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(FLEET_TELEMETRY, 6, {"retention.ms": WEEK_MS}),
    TopicSpec(FLEET_DEADLETTER, 1, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
    TopicSpec(FLEET_ALERTS, 3, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
    TopicSpec(FLEET_TRIPS, 3, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
    TopicSpec(FLEET_STOPS, 3, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
    # Live registry of vehicles and geofences: one record per key, kept forever.
    TopicSpec(FLEET_CONFIG, 1, {"cleanup.policy": "compact"}),
    # Acknowledgements: the latest per incident, kept forever (compacted).
    TopicSpec(FLEET_ACKS, 1, {"cleanup.policy": "compact"}),
    # What the analytics flow computed for InfluxDB (line protocol); the store flow writes it.
    TopicSpec(FLEET_POINTS, 6, {"retention.ms": WEEK_MS}),
    TopicSpec(CRYPTO_TICKERS, 6, {"retention.ms": WEEK_MS}),
    TopicSpec(CRYPTO_SPREADS, 3, {"retention.ms": WEEK_MS}),
    TopicSpec(CRYPTO_ALERTS, 1, {"retention.ms": WEEK_MS}),
    TopicSpec(CRYPTO_DEADLETTER, 1, {"retention.ms": WEEK_MS}),
    TopicSpec(CRYPTO_POINTS, 6, {"retention.ms": WEEK_MS}),
    TopicSpec(CRYPTO_FORECASTS, 3, {"retention.ms": WEEK_MS}),
    TopicSpec(CRYPTO_EXCHANGE_STATUS, 1, {"retention.ms": WEEK_MS}),
)
