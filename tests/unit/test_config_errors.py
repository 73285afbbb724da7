"""Configuration errors are exceptions; only an entry point turns one into an exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataflows.live_registry import load_live_registry
from settings.errors import ConfigError, run_main


def test_config_error_is_an_exception_not_an_exit() -> None:
    assert issubclass(ConfigError, ValueError) and not issubclass(ConfigError, SystemExit)


def test_run_main_turns_a_config_error_into_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    def bad() -> int:
        raise ConfigError("configuration error: X_KEY (from the environment): bad")

    assert run_main(bad) == 2
    assert capsys.readouterr().err == "configuration error: X_KEY (from the environment): bad\n"
    assert run_main(lambda: 0) == 0 and run_main(lambda: 3) == 3 and run_main(lambda: None) == 0


def test_a_bad_registry_file_raises_naming_the_setting_and_the_file(tmp_path: Path) -> None:
    vehicles = tmp_path / "vehicles.json"
    vehicles.write_text('{"vehicles": [{"id": "v1"}]}')
    with pytest.raises(ConfigError) as info:
        load_live_registry(str(vehicles), None, "unused.config", {"bootstrap.servers": "127.0.0.1:1"}, "STORE_")
    assert str(info.value) == (f"configuration error (STORE_VEHICLES_FILE / STORE_GEOFENCES_FILE): {vehicles}: "
                               "vehicles[0]: name: Field required")
