"""Every endpoint x every role on the real InfluxDB and Kafka: the status each gets, from one table.

The table must name every operation of /openapi.json (but the token endpoints, /v1/health and the
wallets, tested on their own), so a new endpoint without a row fails here. Each protected
operation is also asked without a token, with an expired one and with a tampered one (401 each).
Writes go to this module's own compacted config topic; device credentials to a var folder
without a password file (409 for the admin: the scope check passed; 403 for everyone else).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from access.fleet_config import read_latest
from api.app import create_app
from api.tokens import ROLE_SCOPES
from settings.stack import load_stack_settings
from tests.api.conftest import World, api_settings, auth, token
from tests.support.services import kafka_topics, unique

pytestmark = pytest.mark.integration
ROLES = ("admin", "manager", "parent", "trader")
NOT_IN_TABLE = {("post", "/v1/oauth/token"), ("post", "/v1/oauth/revoke"), ("get", "/v1/health")}


@dataclass(frozen=True)
class Case:
    method: str
    template: str  # the OpenAPI path
    path: Callable[[World, str], str]  # (world, role) -> the path asked
    expect: dict[str, int]  # role -> status
    body: Callable[[World, str], Any] | None = None
    params: Callable[[World], dict[str, str]] | None = None


def feature(gid: str, fleets: list[str]) -> dict[str, Any]:
    ring = [[13.4, 52.5], [13.41, 52.5], [13.41, 52.51], [13.4, 52.51], [13.4, 52.5]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"id": gid, "name": f"zone {gid}", "kind": "allowed", "fleets": fleets}}


def fleet_read(admin: int = 200, manager: int = 200, parent: int = 200) -> dict[str, int]:
    return {"admin": admin, "manager": manager, "parent": parent, "trader": 403}


def fleet_write(admin: int = 200, manager: int = 200) -> dict[str, int]:
    return {"admin": admin, "manager": manager, "parent": 403, "trader": 403}


PRICES = {"admin": 200, "manager": 403, "parent": 403, "trader": 200}
ANY_TOKEN = dict.fromkeys(ROLES, 200)
ADMIN_ONLY = {"admin": 409, "manager": 403, "parent": 403, "trader": 403}

CASES: tuple[Case, ...] = (
    Case("get", "/v1/vehicles", lambda w, r: "/v1/vehicles", fleet_read()),
    Case("get", "/v1/vehicles/{vehicle_id}", lambda w, r: f"/v1/vehicles/{w.v1}", fleet_read()),
    Case("get", "/v1/vehicles/{vehicle_id}", lambda w, r: f"/v1/vehicles/{w.v3}", fleet_read(manager=404, parent=404)),
    Case("get", "/v1/vehicles/{vehicle_id}/telemetry", lambda w, r: f"/v1/vehicles/{w.v1}/telemetry", fleet_read()),
    Case("get", "/v1/vehicles/{vehicle_id}/telemetry", lambda w, r: f"/v1/vehicles/{w.v3}/telemetry", fleet_read(manager=404, parent=404)),
    Case("get", "/v1/vehicles/{vehicle_id}/health", lambda w, r: f"/v1/vehicles/{w.v1}/health", fleet_read()),
    Case("get", "/v1/vehicles/{vehicle_id}/health", lambda w, r: f"/v1/vehicles/{w.v3}/health", fleet_read(manager=404, parent=404)),
    Case("get", "/v1/safety-scores", lambda w, r: "/v1/safety-scores", fleet_read()),
    Case("get", "/v1/alerts", lambda w, r: "/v1/alerts", fleet_read()),
    Case("get", "/v1/trips", lambda w, r: "/v1/trips", fleet_read()),
    Case("get", "/v1/geofences", lambda w, r: "/v1/geofences", fleet_read()),
    Case("get", "/v1/geofences/{geofence_id}", lambda w, r: f"/v1/geofences/{w.geofence_a}", fleet_read()),
    Case("get", "/v1/geofences/{geofence_id}", lambda w, r: f"/v1/geofences/{w.geofence_other}", fleet_read(manager=404, parent=404)),
    Case("patch", "/v1/vehicles/{vehicle_id}", lambda w, r: f"/v1/vehicles/{w.v2}", fleet_write(),
         body=lambda w, r: {"speed_limit_kmh": 90}),
    Case("patch", "/v1/vehicles/{vehicle_id}", lambda w, r: f"/v1/vehicles/{w.v3}", fleet_write(manager=404),
         body=lambda w, r: {"speed_limit_kmh": 80}),
    Case("post", "/v1/vehicles/{vehicle_id}/deactivate", lambda w, r: f"/v1/vehicles/{w.v2}/deactivate", fleet_write()),
    Case("post", "/v1/vehicles/{vehicle_id}/activate", lambda w, r: f"/v1/vehicles/{w.v2}/activate", fleet_write()),
    Case("post", "/v1/vehicles/{vehicle_id}/activate", lambda w, r: f"/v1/vehicles/{w.v3}/activate", fleet_write(manager=404)),
    Case("post", "/v1/geofences", lambda w, r: "/v1/geofences", fleet_write(201, 201),
         body=lambda w, r: feature(f"gM-{r}-{w.run}", [w.fleet_a])),
    Case("put", "/v1/geofences/{geofence_id}", lambda w, r: f"/v1/geofences/gM-{r}-{w.run}", fleet_write(),
         body=lambda w, r: feature(f"gM-{r}-{w.run}", [w.fleet_a])),
    Case("put", "/v1/geofences/{geofence_id}", lambda w, r: f"/v1/geofences/{w.geofence_other}", fleet_write(manager=404),
         body=lambda w, r: feature(w.geofence_other, [f"other-{w.run}"])),
    Case("delete", "/v1/geofences/{geofence_id}", lambda w, r: f"/v1/geofences/gM-{r}-{w.run}", fleet_write(204, 204)),
    Case("delete", "/v1/geofences/{geofence_id}", lambda w, r: f"/v1/geofences/{w.geofence_other}", fleet_write(204, 404)),
    Case("post", "/v1/vehicles/{vehicle_id}/device-credentials", lambda w, r: f"/v1/vehicles/{w.v1}/device-credentials", ADMIN_ONLY),
    Case("delete", "/v1/vehicles/{vehicle_id}/device-credentials", lambda w, r: f"/v1/vehicles/{w.v1}/device-credentials",
         {**ADMIN_ONLY, "admin": 404}),  # no password to remove
    Case("get", "/v1/crypto/symbols", lambda w, r: "/v1/crypto/symbols", PRICES),
    Case("get", "/v1/crypto/spreads", lambda w, r: "/v1/crypto/spreads", PRICES, params=lambda w: {"symbol": w.symbol}),
    Case("get", "/v1/crypto/quotes", lambda w, r: "/v1/crypto/quotes", PRICES, params=lambda w: {"symbol": w.symbol}),
    Case("get", "/v1/crypto/ohlc", lambda w, r: "/v1/crypto/ohlc", PRICES, params=lambda w: {"symbol": w.symbol}),
    Case("get", "/v1/crypto/forecasts", lambda w, r: "/v1/crypto/forecasts", PRICES),
    Case("get", "/v1/crypto/forecast-skill", lambda w, r: "/v1/crypto/forecast-skill", PRICES),
    Case("get", "/v1/crypto/exchange-health", lambda w, r: "/v1/crypto/exchange-health", PRICES),
    Case("get", "/v1/vehicles/{vehicle_id}/positions", lambda w, r: f"/v1/vehicles/{w.v1}/positions", fleet_read(),
         params=lambda w: {"format": "geojson"}),
    Case("get", "/v1/vehicles/{vehicle_id}/positions", lambda w, r: f"/v1/vehicles/{w.v3}/positions", fleet_read(manager=404, parent=404)),
    # static lists: any valid token (tests/api/test_geodata.py checks their content)
    Case("get", "/v1/countries", lambda w, r: "/v1/countries", ANY_TOKEN),
    Case("get", "/v1/countries/{code}/regions", lambda w, r: "/v1/countries/DE/regions", ANY_TOKEN),
    Case("get", "/v1/countries/{code}/time-zones", lambda w, r: "/v1/countries/DE/time-zones", ANY_TOKEN),
    Case("get", "/v1/time-zones", lambda w, r: "/v1/time-zones", ANY_TOKEN),
)


@pytest.fixture(scope="module")
def matrix_client(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    tmp = tmp_path_factory.mktemp("matrix")
    with kafka_topics(load_stack_settings(), unique("api-config"), partitions=1, config={"cleanup.policy": "compact"}) as (topic,):
        settings = api_settings(tmp, config_topic=topic, mqtt_var_dir=tmp / "var-without-mqtt-auth")
        with TestClient(create_app(settings)) as c:
            yield c, topic


def _ask(c: TestClient, case: Case, world: World, role: str, headers: dict[str, str]) -> int:
    kwargs: dict[str, Any] = {"headers": headers}
    if case.params:
        kwargs["params"] = case.params(world)
    if case.body:
        kwargs["json"] = case.body(world, role)
    return c.request(case.method.upper(), case.path(world, role), **kwargs).status_code


def test_the_table_names_every_operation(matrix_client: tuple[TestClient, str]) -> None:
    c, _ = matrix_client
    doc = c.get("/openapi.json").json()
    operations = {(m, p) for p, ops in doc["paths"].items() for m in ops if not p.startswith("/v1/wallets")}
    assert operations - NOT_IN_TABLE == {(case.method, case.template) for case in CASES}


def test_every_role_gets_its_status_on_every_endpoint(matrix_client: tuple[TestClient, str], world: World) -> None:
    c, topic = matrix_client
    tokens = {role: auth(token(c, world, role)) for role in ROLES}
    got = {(case.method, case.path(world, "<role>"), role): _ask(c, case, world, role, tokens[role])
           for case in CASES for role in ROLES}
    want = {(case.method, case.path(world, "<role>"), role): case.expect[role] for case in CASES for role in ROLES}
    assert {k: v for k, v in got.items() if v != want[k]} == {}
    # what the writes left on the config topic: the admin's and manager's, nothing of the parent or trader
    latest = read_latest(load_stack_settings().kafka_config(), topic)
    assert latest[f"vehicle:{world.v2}"]["active"] is True and latest[f"vehicle:{world.v3}"]["speed_limit_kmh"] == 80
    assert {k for k in latest if k.startswith("geofence:gM-")} == {f"geofence:gM-{r}-{world.run}" for r in ("admin", "manager")}
    assert latest[f"geofence:gM-admin-{world.run}"] is None and latest[f"geofence:{world.geofence_other}"] is None


def _tampered(value: str) -> str:
    head, payload, sig = value.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = " ".join(sorted(ROLE_SCOPES["admin"]))  # a parent's token made an admin's, signature kept
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{head}.{forged}.{sig}"


def test_no_expired_or_tampered_token_is_401_everywhere(matrix_client: tuple[TestClient, str], world: World) -> None:
    c, _ = matrix_client
    ctx = c.app.state.ctx  # type: ignore[attr-defined]
    expired, _ = ctx.signer.issue("user:admin", ROLE_SCOPES["admin"], now=time.time() - 2 * ctx.settings.access_token_ttl_s)
    forged = _tampered(token(c, world, "parent"))
    for case in CASES:
        for name, headers in (("none", {}), ("expired", auth(expired)), ("tampered", auth(forged))):
            r = c.request(case.method.upper(), case.path(world, "admin"), headers=headers,
                          params=case.params(world) if case.params else None, json=case.body(world, "admin") if case.body else None)
            assert (r.status_code, r.headers["content-type"]) == (401, "application/problem+json"), (case.template, name, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_refresh_token_and_its_successors_fail(matrix_client: tuple[TestClient, str], world: World) -> None:
    c, _ = matrix_client
    first = c.post("/v1/oauth/token", data={"grant_type": "password", "username": "manager", "password": world.passwords["manager"]}).json()
    renewed = c.post("/v1/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert renewed.status_code == 200 and renewed.json()["scope"] == "fleet:read fleet:write"
    assert c.get("/v1/vehicles", headers=auth(renewed.json()["access_token"])).status_code == 200
    assert c.post("/v1/oauth/revoke", data={"token": renewed.json()["refresh_token"]}).status_code == 200
    for spent in (renewed.json()["refresh_token"], first["refresh_token"]):
        r = c.post("/v1/oauth/token", data={"grant_type": "refresh_token", "refresh_token": spent})
        assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
