"""The rules' settings from the environment: ``FLEET_*`` -> ``FleetSettings``, ``CRYPTO_*`` -> ``CryptoSettings``.

``rules/`` holds the plain frozen models and never reads the environment; the two classes here
add pydantic-settings' environment source to the very same fields (no field is declared twice),
and the loaders hand back the plain model. A bad variable raises ``ConfigError`` naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rules.crypto.config import CryptoSettings
from rules.fleet.config import FleetSettings
from settings.errors import load_settings


class FleetEnv(BaseSettings, FleetSettings):
    """Thresholds of the fleet analytics; the defaults are what a Traccar user would expect."""

    model_config = SettingsConfigDict(env_prefix="FLEET_", extra="ignore", frozen=True)


class CryptoEnv(BaseSettings, CryptoSettings):
    """Collector and spread-rule settings (env prefix ``CRYPTO_``)."""

    model_config = SettingsConfigDict(env_prefix="CRYPTO_", extra="ignore", frozen=True)

    # Comma-separated lists are split by CryptoSettings' validator, not decoded as JSON first.
    # (the rules' FieldInfo as the default keeps one declaration of default and description)
    exchanges: Annotated[list[str], NoDecode] = CryptoSettings.model_fields["exchanges"]  # type: ignore[assignment]
    symbols: Annotated[list[str], NoDecode] = CryptoSettings.model_fields["symbols"]  # type: ignore[assignment]


def load_fleet_settings(env_file: Path | None = None) -> FleetSettings:
    """``FleetSettings`` from the ``FLEET_*`` variables (and ``env_file``)."""
    return FleetSettings(**load_settings(FleetEnv, env_file).model_dump())


def load_crypto_settings(env_file: Path | None = None, **overrides: Any) -> CryptoSettings:
    """``CryptoSettings`` from the ``CRYPTO_*`` variables; keyword overrides (e.g. from a CLI) that are not None win."""
    env = load_settings(CryptoEnv, env_file).model_dump()
    return CryptoSettings(**{**env, **{k: v for k, v in overrides.items() if v is not None}})
