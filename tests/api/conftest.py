"""The API against the REAL InfluxDB, over the dashboard's seeded world (tests/dashboard/conftest.py).

The world (this run's own buckets, built through the production point builders by
tests/dashboard/seed.py): fleet A = {v1 moving - the parent's car, v2 alerting}, fleet B = {v3
offline}; symbol ``T<run>/USDT`` on three exchanges. Its users file is the API's user store too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiSettings
from tests.dashboard.conftest import World, world  # noqa: F401 - the dashboard's world fixture, reused as it is

__all__ = ["World", "world"]


def api_settings(tmp: Path, **overrides: Any) -> ApiSettings:
    """Own key, clients, refresh and attempt files; thresholds that keep the seeded statuses for half an hour."""
    values: dict[str, Any] = dict(signing_key_file=tmp / "api-signing.key", clients_file=tmp / "api-clients.json",
                                  refresh_tokens_file=tmp / "refresh.sqlite", token_attempts_file=tmp / "attempts.sqlite",
                                  users_file=Path(os.environ["DASHBOARD_USERS_FILE"]),
                                  # v3's fix is an hour old (offline), v1's and v2's seconds (moving / alerting)
                                  offline_after_s=1800.0, alerting_window_s=1800.0,
                                  # whole seeded series in one raw page: exact counts, no windowing
                                  max_limit=100_000, raw_max_range_h=12.0, default_range_h=6.0,
                                  # every test asks for many tokens from one peer (tests/unit/api/test_rate_limits.py tests the limits)
                                  rate_limit="100000/minute", token_rate_limit="100000/minute")
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture(scope="session")
def api_settings_session(world: World, tmp_path_factory: pytest.TempPathFactory) -> ApiSettings:  # noqa: F811
    return api_settings(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="session")
def client(api_settings_session: ApiSettings) -> Iterator[TestClient]:
    """The app with its lifespan (its own InfluxDB client, read token of the run)."""
    with TestClient(create_app(api_settings_session)) as c:
        yield c


def token(client: TestClient, world: World, user: str, scope: str | None = None) -> str:  # noqa: F811
    data = {"grant_type": "password", "username": user, "password": world.passwords[user]}
    if scope:
        data["scope"] = scope
    r = client.post("/v1/oauth/token", data=data)
    assert r.status_code == 200, r.text
    value: str = r.json()["access_token"]
    return value


def auth(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}
