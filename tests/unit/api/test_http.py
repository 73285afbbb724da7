"""The token endpoint, 401 / 403 / 404 and problem documents over HTTP, on a stub runner (no InfluxDB)."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx2
import jwt

from api.clients import new_client, save_clients
from tests.unit.api.conftest import PASSWORD, Api, password_token

PROBLEM = "application/problem+json"


def is_problem(r: httpx2.Response, status: int, kind: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["type"].endswith("/" + kind) and body["title"] and body["detail"]
    assert body["instance"] == r.request.url.path
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_password_grant_gives_the_roles_scopes_a_refresh_token_and_no_store(api: Api) -> None:
    r = api.client.post("/v1/oauth/token", data={"grant_type": "password", "username": "manager", "password": PASSWORD})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "fleet:read fleet:write" and body["expires_in"] == 600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "user:manager" and claims["aud"] == "ticktrack-api"
    assert body["refresh_token"]
    assert password_token(api, "admin", scope="crypto:read")["scope"] == "crypto:read"


def test_token_endpoint_errors_are_problems_with_the_oauth_code(api: Api) -> None:
    cases = [({"grant_type": "password", "username": "manager", "password": "wrong-password"}, 400, "invalid_grant"),
             ({"grant_type": "password", "username": "nobody", "password": PASSWORD}, 400, "invalid_grant"),
             ({"grant_type": "password", "username": "parent", "password": PASSWORD, "scope": "crypto:read"}, 400, "invalid_scope"),
             ({"grant_type": "password", "username": "parent", "password": PASSWORD, "scope": "fleet:delete"}, 400, "invalid_scope"),
             ({"grant_type": "password", "username": "parent"}, 400, "invalid_request"),
             ({"grant_type": "implicit"}, 400, "unsupported_grant_type"),
             ({"grant_type": "client_credentials", "client_id": "tt_x", "client_secret": "s"}, 401, "invalid_client"),
             ({"grant_type": "refresh_token", "refresh_token": "never-issued"}, 400, "invalid_grant")]
    for data, status, error in cases:
        body = is_problem(api.client.post("/v1/oauth/token", data=data), status, f"oauth/{error}")
        assert body["error"] == error, data
    is_problem(api.client.post("/v1/oauth/token", data={}), 400, "invalid-request")  # no grant_type at all


def test_failed_passwords_lock_the_name_then_even_the_right_password_gets_429(api: Api) -> None:
    for _ in range(api.settings.max_token_failures - 1):
        is_problem(api.client.post("/v1/oauth/token", data={"grant_type": "password", "username": "parent", "password": "guess-1234"}),
                   400, "oauth/invalid_grant")
    r = api.client.post("/v1/oauth/token", data={"grant_type": "password", "username": "parent", "password": "guess-1234"})
    is_problem(r, 429, "too-many-attempts")
    assert 0 < int(r.headers["retry-after"]) <= api.settings.token_lockout_s
    r = api.client.post("/v1/oauth/token", data={"grant_type": "password", "username": "parent", "password": PASSWORD})
    is_problem(r, 429, "too-many-attempts")
    assert password_token(api, "manager")["access_token"]  # another name is not locked


def test_client_credentials_with_basic_or_form_no_refresh_token_and_limited(api: Api) -> None:
    client, secret = new_client("erp", "fleet", ["fleet:read"], ["fa"])
    save_clients(api.settings.clients_file, {client.client_id: client})
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    r = api.client.post("/v1/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "fleet:read" and "refresh_token" not in r.json()
    r = api.client.post("/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": secret})
    token = r.json()["access_token"]
    assert api.client.get("/v1/vehicles", headers=bearer(token)).status_code == 200
    is_problem(api.client.get("/v1/crypto/symbols", headers=bearer(token)), 403, "insufficient-scope")
    for _ in range(api.settings.max_token_failures - 1):
        r = api.client.post("/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "no"})
        is_problem(r, 401, "oauth/invalid_client")
        assert r.headers["www-authenticate"].startswith("Basic")
    r = api.client.post("/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "no"})
    is_problem(r, 429, "too-many-attempts")
    save_clients(api.settings.clients_file, {})  # a removed client's token stops at once
    is_problem(api.client.get("/v1/vehicles", headers=bearer(token)), 401, "unauthorized")


def test_refresh_rotates_and_a_revoked_or_reused_refresh_token_fails(api: Api) -> None:
    first = password_token(api, "parent")
    r = api.client.post("/v1/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert r.status_code == 200 and r.json()["scope"] == "fleet:read"
    second = r.json()["refresh_token"]
    assert second != first["refresh_token"]
    r = api.client.post("/v1/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], })
    is_problem(r, 400, "oauth/invalid_grant")  # reuse: and the family (second) is revoked with it
    is_problem(api.client.post("/v1/oauth/token", data={"grant_type": "refresh_token", "refresh_token": second}), 400, "oauth/invalid_grant")
    third = password_token(api, "parent")["refresh_token"]
    assert api.client.post("/v1/oauth/revoke", data={"token": third}).status_code == 200
    is_problem(api.client.post("/v1/oauth/token", data={"grant_type": "refresh_token", "refresh_token": third}), 400, "oauth/invalid_grant")
    assert api.client.post("/v1/oauth/revoke", data={"token": "unknown"}).status_code == 200  # RFC 7009 2.2
    fourth = password_token(api, "parent")["refresh_token"]
    r = api.client.post("/v1/oauth/token", data={"grant_type": "refresh_token", "refresh_token": fourth, "scope": "fleet:write"})
    is_problem(r, 400, "oauth/invalid_scope")  # never more than first granted


def test_401_without_or_with_a_bad_token_403_without_the_scope(api: Api) -> None:
    r = api.client.get("/v1/vehicles")
    is_problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == 'Bearer realm="ticktrack"'  # RFC 6750 3.1: no error code without a token
    for token in ("not-a-jwt", password_token(api, "manager")["access_token"][:-3] + "abc"):
        r = api.client.get("/v1/vehicles", headers=bearer(token))
        is_problem(r, 401, "unauthorized")
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
    expired, _ = api.ctx.signer.issue("user:manager", {"fleet:read"}, now=time.time() - 3600)
    assert "expired" in is_problem(api.client.get("/v1/vehicles", headers=bearer(expired)), 401, "unauthorized")["detail"]
    trader = password_token(api, "trader")["access_token"]
    for path in ("/v1/vehicles", "/v1/vehicles/car", "/v1/vehicles/car/telemetry", "/v1/vehicles/car/health", "/v1/alerts",
                 "/v1/trips", "/v1/safety-scores"):
        r = api.client.get(path, headers=bearer(trader))
        assert is_problem(r, 403, "insufficient-scope")["required_scope"] == "fleet:read", path
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    parent = password_token(api, "parent")["access_token"]
    for path in ("/v1/crypto/symbols", "/v1/crypto/spreads?symbol=BTC/USDT", "/v1/crypto/quotes?symbol=BTC/USDT", "/v1/crypto/ohlc?symbol=BTC/USDT"):
        assert is_problem(api.client.get(path, headers=bearer(parent)), 403, "insufficient-scope")["required_scope"] == "crypto:read"
    narrowed = password_token(api, "admin", scope="crypto:read")["access_token"]
    is_problem(api.client.get("/v1/vehicles", headers=bearer(narrowed)), 403, "insufficient-scope")


def test_a_removed_user_or_a_downgraded_role_loses_the_token_at_once(api: Api) -> None:
    from access.users import User, hash_password, load_users, save_users

    token = password_token(api, "manager")["access_token"]
    users = load_users(api.settings.users_file)
    users["manager"] = User("manager", "trader", hash_password(PASSWORD, 4))
    save_users(api.settings.users_file, users)
    is_problem(api.client.get("/v1/vehicles", headers=bearer(token)), 403, "insufficient-scope")
    del users["manager"]
    save_users(api.settings.users_file, users)
    is_problem(api.client.get("/v1/vehicles", headers=bearer(token)), 401, "unauthorized")


def test_a_parents_foreign_vehicle_is_404_without_asking_influxdb(api: Api) -> None:
    parent = password_token(api, "parent")["access_token"]
    before = len(api.stub.queries)
    body = is_problem(api.client.get("/v1/vehicles/someone-else", headers=bearer(parent)), 404, "not-found")
    assert body["detail"] == "no vehicle 'someone-else'"
    # the Flux of the lookup carries the parent's vehicle as a parameter, never the asked-for id
    assert all("someone-else" not in str(p.values()) for _, p in api.stub.queries[before:])
    assert any("car" in p.values() for _, p in api.stub.queries[before:])


def test_bad_parameters_and_unknown_paths_are_problems(api: Api) -> None:
    token = bearer(password_token(api, "admin")["access_token"])
    is_problem(api.client.get("/v1/alerts?from=yesterday", headers=token), 400, "invalid-request")
    is_problem(api.client.get("/v1/alerts?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", headers=token), 400, "invalid-request")
    is_problem(api.client.get(f"/v1/alerts?limit={api.settings.max_limit + 1}", headers=token), 400, "invalid-request")
    is_problem(api.client.get("/v1/nothing-here"), 404, "not-found")
    is_problem(api.client.get("/v1/crypto/spreads?symbol=NOPE/USDT", headers=token), 404, "not-found")


def test_openapi_describes_v1_and_its_oauth_flow(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert {"/v1/oauth/token", "/v1/oauth/revoke", "/v1/vehicles", "/v1/vehicles/{vehicle_id}",
            "/v1/vehicles/{vehicle_id}/telemetry", "/v1/alerts", "/v1/trips", "/v1/crypto/symbols",
            "/v1/crypto/spreads", "/v1/health", "/v1/vehicles/{vehicle_id}/health", "/v1/safety-scores",
            "/v1/crypto/quotes", "/v1/crypto/ohlc", "/v1/geofences", "/v1/geofences/{geofence_id}",
            "/v1/vehicles/{vehicle_id}/activate", "/v1/vehicles/{vehicle_id}/deactivate",
            "/v1/vehicles/{vehicle_id}/device-credentials"} <= set(doc["paths"])  # wallets add theirs (api/wallets.py)
    assert all(path.startswith("/v1/") for path in doc["paths"])
    assert set(doc["paths"]["/v1/vehicles/{vehicle_id}"]) == {"get", "patch"}
    assert set(doc["paths"]["/v1/geofences/{geofence_id}"]) == {"get", "put", "delete"}
    assert doc["paths"]["/v1/vehicles/{vehicle_id}/device-credentials"]["post"]["security"] == [{"OAuth2PasswordBearer": ["admin"]}]
    flow = doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]
    assert flow["tokenUrl"] == "/v1/oauth/token" and "fleet:read" in flow["scopes"]
    assert doc["paths"]["/v1/alerts"]["get"]["security"] == [{"OAuth2PasswordBearer": ["fleet:read"]}]
    assert api.client.get("/docs").status_code == 200
    assert api.client.get("/v1/health").json() == {"status": "ok"}
