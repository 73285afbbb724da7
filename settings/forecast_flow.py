"""Settings of the crypto forecast dataflow (dataflows/crypto_forecasts.py), from the environment.

Where it reads and writes, and how the forecaster works (``rules.crypto.forecast.ForecastConfig``).
Env prefix ``FORECAST_``; a bad value stops the flow at start naming the variable.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rules.crypto.forecast import DEFAULT_MODEL, ForecastConfig
from rules.crypto.forecast_models import MODELS
from settings import topics


class ForecastFlowSettings(BaseSettings):
    """crypto.spreads -> walk-forward forecasts and their skill (dataflows/crypto_forecasts.py). Env prefix ``FORECAST_``."""

    model_config = SettingsConfigDict(env_prefix="FORECAST_", extra="ignore")

    spreads_topic: str = Field(topics.CRYPTO_SPREADS, description="Kafka topic of spread records (JSON) whose cross-exchange mid is forecast")
    forecasts_topic: str = Field(topics.CRYPTO_FORECASTS, description="Kafka topic of forecast records (JSON, docs/forecasts.md)")
    points_topic: str = Field(topics.CRYPTO_POINTS, 
                             description="Kafka topic of line-protocol points (forecasts, forecast_skill) the crypto store writes")
    deadletter_topic: str = Field(topics.CRYPTO_DEADLETTER, description="Kafka topic of spread records the forecaster cannot use (JSON, with reason)")
    from_beginning: bool = Field(True, 
                                 description="first start (no recovery state yet): read the spreads from the earliest offset; false = only new ones")
    horizons: Annotated[tuple[int, ...], NoDecode] = Field((1, 5, 15), description="forecast horizons in minutes, comma-separated")
    lags: int = Field(5, ge=1, le=60, description="lagged 1-minute returns the learner sees")
    model: str = Field(DEFAULT_MODEL, description=f"online learner: {', '.join(MODELS)}")
    max_gap_min: int = Field(5, ge=0, description="missing minutes filled with the last mid; a longer gap starts the symbol's history over")
    interval_level: float = Field(0.9, gt=0, lt=1, description="central share of the forecast interval")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level of the verdict's tests")
    min_n: int = Field(30, ge=1, 
                       description="matured forecasts before a verdict other than 'not enough' (and before the interval uses the model's own error)")

    @field_validator("horizons", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return tuple(int(p) for p in v.split(",") if p.strip())
        return v

    @field_validator("horizons")
    @classmethod
    def _positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(h < 1 for h in v) or len(set(v)) != len(v):
            raise ValueError(f"distinct positive minute counts needed, got {v!r}")
        return tuple(sorted(v))

    @field_validator("model")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in MODELS:
            raise ValueError(f"unknown model {v!r}; known: {', '.join(MODELS)}")
        return v

    def forecast_config(self) -> ForecastConfig:
        """The forecaster's rules (bars of one minute)."""
        return ForecastConfig(horizons=self.horizons, lags=self.lags, bar_s=60, model=self.model,
                              max_gap_bars=self.max_gap_min, interval_level=self.interval_level, alpha=self.alpha,
                              min_n=self.min_n)
