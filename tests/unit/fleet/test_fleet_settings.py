"""Fleet settings (country, region, time zone): a bad value in the registry file or a change stops
with a RegistryError naming the file (or change key), the item and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.registry import Fleet
from rules.fleet.registry import RegistryError, apply_change, parse_registry
from settings.registry_files import load_registry


def _file(tmp_path: Path, **fleet: object) -> Path:
    path = tmp_path / "vehicles.json"
    path.write_text(json.dumps({"fleets": [{"id": "ok", "name": "OK"}, {"id": "f1", "name": "F", **fleet}],
                                "vehicles": [{"id": "v1", "name": "V", "fleet_id": "f1"}]}))
    return path


def test_valid_settings_and_defaults(tmp_path: Path) -> None:
    reg = load_registry(_file(tmp_path, country="DE", region="DE-BE", timezone="Europe/Berlin"))
    assert (reg.fleets["f1"].country, reg.fleets["f1"].region, reg.fleets["f1"].timezone) == ("DE", "DE-BE", "Europe/Berlin")
    assert (reg.fleets["ok"].country, reg.fleets["ok"].region, reg.fleets["ok"].timezone) == (None, None, None)
    assert Fleet(id="u", name="U", timezone="UTC").timezone == "UTC"


@pytest.mark.parametrize(("fleet", "message"), [
    ({"timezone": "Europe/Berln"}, r"fleets\[1\]: timezone: Value error, unknown IANA time zone 'Europe/Berln'"),
    ({"timezone": ""}, r"fleets\[1\]: timezone: Value error, unknown IANA time zone ''"),
    ({"country": "QQ"}, r"fleets\[1\]: country: Value error, unknown ISO 3166-1 alpha-2 country code 'QQ'"),
    ({"country": "de"}, r"fleets\[1\]: country: .*'de' \(upper case"),
    ({"country": "DEU"}, r"fleets\[1\]: country: .*'DEU'"),
    ({"country": "FR", "region": "DE-BE"}, r"fleets\[1\]: .*region: 'DE-BE' is not a region of country 'FR'"),
    ({"region": "DE-BE"}, r"fleets\[1\]: .*region: 'DE-BE' is not a region of country None"),
    ({"country": "FR", "region": "FR-75C"}, r"fleets\[1\]: .*unknown first-level ISO 3166-2 region 'FR-75C'"),
    ({"country": "DE", "region": "DE-XX"}, r"fleets\[1\]: .*unknown first-level ISO 3166-2 region 'DE-XX'"),
])
def test_a_bad_setting_names_file_item_and_key(tmp_path: Path, fleet: dict[str, str], message: str) -> None:
    path = _file(tmp_path, **fleet)
    with pytest.raises(RegistryError, match=f"^{path}: {message}"):
        load_registry(path)


def test_a_bad_change_is_refused_and_the_registry_kept() -> None:
    reg = parse_registry({"fleets": [{"id": "f1", "name": "F", "country": "DE"}]}, "test")
    with pytest.raises(RegistryError, match=r"^change 'fleet:f1': country: .*'XX'"):
        apply_change(reg, "fleet:f1", json.dumps({"id": "f1", "name": "F", "country": "XX"}))
    changed = apply_change(reg, "fleet:f1", json.dumps({"id": "f1", "name": "F", "country": "AT", "timezone": "Europe/Vienna"}))
    assert changed.fleets["f1"].country == "AT" and reg.fleets["f1"].country == "DE"
