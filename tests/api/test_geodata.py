"""Static lists through the API: countries, regions, time zones; a token is needed, nothing more."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth, token
from tests.dashboard.conftest import World

pytestmark = pytest.mark.integration


def test_countries_regions_and_time_zones(client: TestClient, world: World) -> None:
    h = auth(token(client, world, "parent"))
    countries = client.get("/v1/countries", headers=h)
    assert countries.status_code == 200 and len(countries.json()) == 249
    assert {"code": "DE", "name": "Germany"} in countries.json()
    regions = client.get("/v1/countries/de/regions", headers=h).json()
    assert len(regions) == 16 and {"code": "DE-BY", "name": "Bayern"} in regions
    assert client.get("/v1/countries/DE/time-zones", headers=h).json() == ["Europe/Berlin", "Europe/Busingen"]
    missing = client.get("/v1/countries/QQ/regions", headers=h)
    assert missing.status_code == 404 and "QQ" in missing.json()["detail"]
    assert client.get("/v1/countries").status_code == 401
    zones = client.get("/v1/time-zones", headers=h).json()
    assert len(zones) == 599 and zones == sorted(zones) and {"UTC", "Europe/Berlin", "America/Sao_Paulo"} <= set(zones)
    assert client.get("/v1/time-zones").status_code == 401
