"""Request rate limits over HTTP (stub runner, no services): per client on every authenticated request, per peer on the token endpoint."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from api.config import ApiSettings
from api.problems import Problem
from api.rate_limit import RateLimits
from tests.unit.api.conftest import PASSWORD, Api, password_token
from tests.unit.api.test_http import bearer, is_problem


def _limited(api: Api, per_client: str, per_token_peer: str) -> None:
    app: Any = api.client.app
    app.state.ctx = replace(api.ctx, rates=RateLimits.of(per_client, per_token_peer))


def test_a_client_over_its_rate_gets_429_with_retry_after_and_others_do_not(api: Api) -> None:
    manager, parent = password_token(api, "manager")["access_token"], password_token(api, "parent")["access_token"]
    _limited(api, "3/minute", "1000/minute")
    codes = [api.client.get("/v1/alerts", headers=bearer(manager)).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    over = api.client.get("/v1/vehicles", headers=bearer(manager))  # every endpoint counts against the same client
    body = is_problem(over, 429, "rate-limited")
    assert 1 <= int(over.headers["retry-after"]) <= 60 and body["detail"].endswith(f"try again in {over.headers['retry-after']} s")
    # the limit is per client: the parent's requests are their own; a refused 403 counts too
    assert api.client.get("/v1/alerts", headers=bearer(parent)).status_code == 200
    assert api.client.get("/v1/crypto/symbols", headers=bearer(parent)).status_code == 403
    assert api.client.get("/v1/alerts", headers=bearer(parent)).status_code == 200
    assert api.client.get("/v1/alerts", headers=bearer(parent)).status_code == 429


def test_the_token_endpoint_limits_requests_per_peer_even_when_they_succeed(api: Api) -> None:
    _limited(api, "1000/minute", "2/minute")
    ok = [api.client.post("/v1/oauth/token", data={"grant_type": "password", "username": u, "password": PASSWORD}).status_code
          for u in ("manager", "parent")]
    assert ok == [200, 200]
    r = api.client.post("/v1/oauth/token", data={"grant_type": "password", "username": "admin", "password": PASSWORD})
    is_problem(r, 429, "rate-limited")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # unsupported grants and bad requests are counted as well (a flood is a flood)
    assert api.client.post("/v1/oauth/token", data={"grant_type": "nope"}).status_code == 429


def test_the_retry_after_is_the_moving_windows_reset() -> None:
    rates = RateLimits.of("1/second", "1/second")
    rates.client_request("user:x")
    with pytest.raises(Problem) as refused:
        rates.client_request("user:x")
    assert (refused.value.status, refused.value.headers) == (429, {"Retry-After": "1"})
    rates.token_request("user:x")  # another window: token requests of a peer are counted apart


@pytest.mark.parametrize("bad", ["fast", "10/fortnight", ""])
def test_a_bad_rate_setting_names_the_key(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValidationError, match="rate_limit"):
        ApiSettings(rate_limit=bad, users_file=tmp_path / "u.json")
