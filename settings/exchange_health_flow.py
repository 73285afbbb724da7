"""Settings of the exchange health dataflow (dataflows/crypto_exchange_health.py), from the environment.

Where it reads and writes, and the thresholds of ``rules.crypto.exchange_health.HealthRules``.
Env prefix ``EXCHANGE_HEALTH_``; a bad value stops the flow at start naming the variable.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rules.crypto.exchange_health import HealthRules
from settings import topics


class ExchangeHealthSettings(BaseSettings):
    """Quotes, collector status and spreads -> per-exchange health (dataflows/crypto_exchange_health.py). Env prefix ``EXCHANGE_HEALTH_``."""

    model_config = SettingsConfigDict(env_prefix="EXCHANGE_HEALTH_", extra="ignore")

    tickers_topic: str = Field(topics.CRYPTO_TICKERS, description="Kafka topic of normalized quotes (JSON)")
    status_topic: str = Field(topics.CRYPTO_EXCHANGE_STATUS, description="Kafka topic of the collector's per-exchange status records (JSON)")
    spreads_topic: str = Field(topics.CRYPTO_SPREADS, description="Kafka topic of spread records (JSON): which exchanges were excluded and why")
    points_topic: str = Field(topics.CRYPTO_POINTS, description="Kafka topic of line-protocol points (exchange_health) the crypto store writes")
    deadletter_topic: str = Field(topics.CRYPTO_DEADLETTER, description="Kafka topic of records the health flow cannot use (JSON, with reason)")
    from_beginning: bool = Field(True, description="first start (no recovery state yet): read the topics from their earliest offsets; "
                                                   "false = only new records")
    window_s: float = Field(10.0, gt=0, description="length of one health window, seconds (event time)")
    stale_after_s: float = Field(30.0, gt=0, description="a symbol whose newest quote is older than this at the window's end is not fresh, seconds")
    slow_latency_s: float = Field(2.0, gt=0, description="median latency (receive - exchange time) above which an exchange is slow, seconds")
    min_fresh_share: float = Field(0.5, ge=0, le=1, description="share of listed symbols that must be fresh, else the exchange is stale")
    evict_after_s: float = Field(600.0, gt=0, description="an exchange not heard of for this long is forgotten, seconds")

    def rules(self) -> HealthRules:
        return HealthRules(window_ms=int(self.window_s * 1000), stale_after_ms=int(self.stale_after_s * 1000),
                           slow_latency_ms=self.slow_latency_s * 1000, min_fresh_share=self.min_fresh_share,
                           evict_after_ms=int(self.evict_after_s * 1000))
