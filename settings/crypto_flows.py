"""Settings of the crypto prices dataflow (dataflows/crypto_prices.py), from the environment.

The rules themselves (stale, outliers, fees, thresholds) are ``CRYPTO_*`` (rules/crypto/config.py);
these are only where the flow reads and writes and how it waits.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings import topics


class CryptoFlowSettings(BaseSettings):
    """Kafka -> spreads, alerts and points for InfluxDB, all on Kafka (dataflows/crypto_prices.py). Env prefix ``CRYPTO_FLOW_``."""

    model_config = SettingsConfigDict(env_prefix="CRYPTO_FLOW_", extra="ignore")

    tickers_topic: str = Field(topics.CRYPTO_TICKERS, description="Kafka topic of normalized quotes (JSON) to read")
    spreads_topic: str = Field(topics.CRYPTO_SPREADS, description="Kafka topic of spread records (JSON)")
    alerts_topic: str = Field(topics.CRYPTO_ALERTS, description="Kafka topic of arbitrage alerts (JSON)")
    deadletter_topic: str = Field(topics.CRYPTO_DEADLETTER, description="Kafka topic of quotes the flow rejects (JSON, with reason)")
    from_beginning: bool = Field(True, description="first start (no recovery state yet): read the topic from its earliest offset, so nothing "
                                                   "produced before the flow was up is skipped; false = only new quotes")
    ohlc_wait_s: float = Field(10.0, ge=0, description="event-time lateness an OHLC window waits for before closing, seconds")
    points_topic: str = Field(topics.CRYPTO_POINTS, description="Kafka topic of spreads, extremes and OHLC bars as line protocol (the crypto store "
                                                                "writes them)")


class CryptoStoreSettings(BaseSettings):
    """Kafka -> InfluxDB crypto bucket (dataflows/crypto_store.py). Env prefix ``CRYPTO_STORE_``.

    The only crypto process that writes InfluxDB: every quote and what the prices flow computed."""

    model_config = SettingsConfigDict(env_prefix="CRYPTO_STORE_", extra="ignore")

    tickers_topic: str = Field(topics.CRYPTO_TICKERS, description="Kafka topic of normalized quotes (JSON) to store")
    points_topic: str = Field(topics.CRYPTO_POINTS, description="Kafka topic of the prices flow's outputs (line protocol)")
    deadletter_topic: str = Field(topics.CRYPTO_DEADLETTER, description="points InfluxDB refuses go here")
    from_beginning: bool = Field(True, description="first start (no recovery state yet): read the topics from their earliest offsets (points are "
                                                   "idempotent); false = the latest")
