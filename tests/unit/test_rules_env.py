"""Rules' settings are plain frozen models: only ``settings.rules_env`` reads FLEET_* / CRYPTO_*."""

from __future__ import annotations

import pydantic
import pytest

from rules.crypto.config import CryptoSettings
from rules.fleet.config import FleetSettings
from settings.errors import ConfigError
from settings.rules_env import CryptoEnv, FleetEnv, load_crypto_settings, load_fleet_settings


def test_rule_models_ignore_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_OVERSPEED_MIN_DURATION_S", "99")
    monkeypatch.setenv("CRYPTO_STALE_AFTER_S", "1.5")
    assert FleetSettings().overspeed_min_duration_s == 10.0
    assert CryptoSettings().stale_after_s == 30.0
    fleet, crypto = load_fleet_settings(), load_crypto_settings()
    assert type(fleet) is FleetSettings and fleet.overspeed_min_duration_s == 99.0
    assert type(crypto) is CryptoSettings and crypto.stale_after_s == 1.5


def test_models_are_frozen_and_strict_about_names() -> None:
    with pytest.raises(pydantic.ValidationError):
        FleetSettings().idle_min_s = 1.0  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        CryptoSettings().poll_interval_s = 1.0  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="idle_min"):
        FleetSettings(idle_min=1.0)  # type: ignore[call-arg]


def test_environment_classes_carry_exactly_the_models_fields() -> None:
    assert list(FleetEnv.model_fields) == list(FleetSettings.model_fields)
    assert list(CryptoEnv.model_fields) == list(CryptoSettings.model_fields)
    assert FleetEnv.model_fields["idle_min_s"].description == FleetSettings.model_fields["idle_min_s"].description


def test_a_bad_variable_is_a_config_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_IDLE_MIN_S", "-3")
    with pytest.raises(ConfigError, match="FLEET_IDLE_MIN_S"):
        load_fleet_settings()
