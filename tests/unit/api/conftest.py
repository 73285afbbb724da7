"""An API app over a stub runner (no InfluxDB): for tokens, scopes and error documents only.

The stub answers every query with an empty result and records it; what the data scope does to
real data is tested against InfluxDB in tests/api/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from access.flux import Params
from access.reads import Reads
from access.users import User, hash_password, save_users
from api.app import create_app
from api.config import ApiSettings
from api.context import ApiContext, limiter_for
from api.keys import load_or_create_key
from api.refresh import RefreshStore
from api.tokens import TokenSigner

PASSWORD = "correct horse battery"


@dataclass
class Stub:
    queries: list[tuple[str, Params]] = field(default_factory=list)

    def __call__(self, query: str, params: Params) -> pd.DataFrame:
        self.queries.append((query, params))
        return pd.DataFrame()


@dataclass(frozen=True)
class Api:
    client: TestClient
    settings: ApiSettings
    ctx: ApiContext
    stub: Stub


def api_settings(tmp: Path, **overrides: object) -> ApiSettings:
    values: dict[str, object] = dict(signing_key_file=tmp / "key", clients_file=tmp / "clients.json",
                                     refresh_tokens_file=tmp / "refresh.sqlite", token_attempts_file=tmp / "attempts.sqlite",
                                     users_file=tmp / "users.json", rate_limit="100000/minute", token_rate_limit="100000/minute")
    values.update(overrides)
    return ApiSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = api_settings(tmp_path)
    save_users(settings.users_file, {
        "admin": User("admin", "admin", hash_password(PASSWORD, 4)),
        "manager": User("manager", "fleet_manager", hash_password(PASSWORD, 4), fleets=("fa",)),
        "parent": User("parent", "parent", hash_password(PASSWORD, 4), vehicles=("car",)),
        "trader": User("trader", "trader", hash_password(PASSWORD, 4)),
    })
    stub = Stub()
    ctx = ApiContext(settings=settings,
                     signer=TokenSigner(load_or_create_key(settings.signing_key_file), settings.issuer, settings.audience,
                                        settings.access_token_ttl_s),
                     refresh=RefreshStore(settings.refresh_tokens_file, settings.refresh_token_ttl_s),
                     limiter=limiter_for(settings), reads=Reads(live=stub, history=stub, fleet_bucket="f", crypto_bucket="c"))
    app = create_app(settings)
    app.state.ctx = ctx  # no lifespan: no InfluxDB client
    yield Api(TestClient(app), settings, ctx, stub)


def password_token(api: Api, user: str, scope: str | None = None, password: str = PASSWORD) -> dict[str, Any]:
    data = {"grant_type": "password", "username": user, "password": password}
    if scope is not None:
        data["scope"] = scope
    r = api.client.post("/v1/oauth/token", data=data)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
