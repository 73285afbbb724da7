"""Every role's view through the API equals the dashboard's data scope, with exact counts, on real InfluxDB."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from api.clients import new_client, save_clients
from api.config import ApiSettings
from settings.stack import REPO_ROOT
from tests.api.conftest import World, api_settings, auth, token

pytestmark = pytest.mark.integration
SIX_HOURS = {"from": (datetime.now(UTC) - timedelta(hours=6)).isoformat()}


def ids(items: list[dict[str, Any]]) -> list[str]:
    return sorted(i["vehicle_id"] for i in items)


def test_each_role_lists_exactly_the_vehicles_of_its_scope(client: TestClient, world: World) -> None:
    manager = client.get("/v1/vehicles", headers=auth(token(client, world, "manager"))).json()
    assert ids(manager["items"]) == sorted([world.v1, world.v2]) and manager["next_after"] is None
    by_id = {v["vehicle_id"]: v for v in manager["items"]}
    assert (by_id[world.v1]["status"], by_id[world.v2]["status"]) == ("moving", "alerting")
    assert (by_id[world.v1]["lat"], by_id[world.v1]["lon"], by_id[world.v1]["speed_kmh"]) == (52.50, 13.40, 50.0)
    assert by_id[world.v2]["alerts"] == 1 and by_id[world.v1]["fleet_id"] == world.fleet_a
    parent = client.get("/v1/vehicles", headers=auth(token(client, world, "parent"))).json()
    assert ids(parent["items"]) == [world.v1]
    admin = client.get("/v1/vehicles", headers=auth(token(client, world, "admin")), params={"limit": 100_000}).json()
    mine = {v["vehicle_id"]: v for v in admin["items"] if v["vehicle_id"] in world.vehicles}
    assert sorted(mine) == sorted(world.vehicles) and mine[world.v3]["status"] == "offline"


def test_vehicle_pages_continue_after_the_last_id(client: TestClient, world: World) -> None:
    headers = auth(token(client, world, "manager"))
    first = client.get("/v1/vehicles", headers=headers, params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_after"] == first["items"][0]["vehicle_id"]
    second = client.get("/v1/vehicles", headers=headers, params={"limit": 1, "after": first["next_after"]}).json()
    assert len(second["items"]) == 1 and second["next_after"] is None
    assert ids(first["items"] + second["items"]) == sorted([world.v1, world.v2])


def test_a_foreign_vehicle_is_the_same_404_as_an_unknown_one(client: TestClient, world: World) -> None:
    manager, parent = auth(token(client, world, "manager")), auth(token(client, world, "parent"))
    for headers, foreign in ((manager, world.v3), (parent, world.v2), (parent, world.v3)):
        for path in ("/v1/vehicles/{}", "/v1/vehicles/{}/telemetry"):
            r = client.get(path.format(foreign), headers=headers)
            unknown = client.get(path.format("no-such-" + world.run), headers=headers)
            assert (r.status_code, unknown.status_code) == (404, 404), r.text
            assert r.headers["content-type"] == unknown.headers["content-type"] == "application/problem+json"
            strip = {k: v for k, v in r.json().items() if k not in ("detail", "instance")}
            assert strip == {k: v for k, v in unknown.json().items() if k not in ("detail", "instance")}
            assert r.json()["detail"] == f"no vehicle {foreign!r}"
    one = client.get(f"/v1/vehicles/{world.v1}", headers=parent)
    assert one.status_code == 200 and one.json()["vehicle_id"] == world.v1 and one.json()["status"] == "moving"


def test_telemetry_of_the_parents_car_is_every_seeded_fix(client: TestClient, world: World) -> None:
    r = client.get(f"/v1/vehicles/{world.v1}/telemetry", headers=auth(token(client, world, "parent")),
                   params={**SIX_HOURS, "limit": 100_000})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "telemetry"
    speeds = sorted(p["speed_kmh"] for p in body["points"])
    assert speeds == [40.0] * 21 + [50.0] * 3  # the trip's route, one fix a minute, and the three latest fixes
    assert [p["time"] for p in body["points"]] == sorted(p["time"] for p in body["points"])


def test_alerts_per_role_filters_and_pages(client: TestClient, world: World) -> None:
    manager, parent = auth(token(client, world, "manager")), auth(token(client, world, "parent"))
    items = client.get("/v1/alerts", headers=manager, params=SIX_HOURS).json()["items"]
    assert sorted((a["vehicle_id"], a["type"], a["severity"]) for a in items) == sorted(
        [(world.v1, "refuel", "info"), (world.v2, "coolant_high", "critical")])
    critical = client.get("/v1/alerts", headers=manager, params={**SIX_HOURS, "severity": "critical"}).json()["items"]
    assert [a["vehicle_id"] for a in critical] == [world.v2]
    assert [a["vehicle_id"] for a in client.get("/v1/alerts", headers=parent, params=SIX_HOURS).json()["items"]] == [world.v1]
    # asking for a foreign vehicle is a filter inside the scope: nothing, not the other fleet's alert
    assert client.get("/v1/alerts", headers=parent, params={**SIX_HOURS, "vehicle_id": world.v2}).json()["items"] == []
    first = client.get("/v1/alerts", headers=manager, params={**SIX_HOURS, "limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_offset"] == 1
    second = client.get("/v1/alerts", headers=manager, params={"from": SIX_HOURS["from"], "to": first["to"], "limit": 1,
                                                               "offset": first["next_offset"]}).json()
    assert len(second["items"]) == 1 and second["next_offset"] is None
    assert {first["items"][0]["alert_id"], second["items"][0]["alert_id"]} == {a["alert_id"] for a in items}
    admin = auth(token(client, world, "admin"))
    every = client.get("/v1/alerts", headers=admin, params={**SIX_HOURS, "vehicle_id": sorted(world.vehicles)}).json()["items"]
    assert sorted(a["vehicle_id"] for a in every) == sorted(world.vehicles)


def test_trips_per_role(client: TestClient, world: World) -> None:
    manager = client.get("/v1/trips", headers=auth(token(client, world, "manager")), params=SIX_HOURS).json()["items"]
    assert sorted(t["vehicle_id"] for t in manager) == sorted([world.v1, world.v2])
    assert {(t["distance_km"], t["duration_s"], t["harsh_events"], t["score"]) for t in manager} == {(12.5, 1200.0, 1, 91.0)}
    assert all(datetime.fromisoformat(t["end"]) - datetime.fromisoformat(t["start"]) == timedelta(minutes=20) for t in manager)
    parent = client.get("/v1/trips", headers=auth(token(client, world, "parent")), params=SIX_HOURS).json()["items"]
    assert [t["vehicle_id"] for t in parent] == [world.v1]


def test_spreads_for_price_roles_only(client: TestClient, world: World) -> None:
    trader = auth(token(client, world, "trader"))
    assert world.symbol in client.get("/v1/crypto/symbols", headers=trader).json()["symbols"]
    r = client.get("/v1/crypto/spreads", headers=trader, params={"symbol": world.symbol, **SIX_HOURS, "limit": 100_000})
    assert r.status_code == 200, r.text
    points = r.json()["points"]
    assert len(points) == 300  # every 10 s for 50 minutes, as seeded
    assert {(p["best_bid_exchange"], p["best_ask_exchange"], p["exchanges_counted"], p["exchanges_excluded"]) for p in points} == {
        ("exb", "exa", 2, 1)}  # exc is stale: excluded, as the crypto rules decided when seeding
    for role in ("manager", "parent"):
        r = client.get("/v1/crypto/spreads", headers=auth(token(client, world, role)), params={"symbol": world.symbol})
        assert r.status_code == 403 and r.json()["required_scope"] == "crypto:read"
    for path in ("/v1/vehicles", "/v1/alerts", "/v1/trips"):
        assert client.get(path, headers=trader).status_code == 403
        assert client.get(path).status_code == 401


def test_clients_see_their_data_scope_exactly(client: TestClient, world: World, api_settings_session: ApiSettings) -> None:
    van, van_secret = new_client("van app", "vehicle", ["fleet:read"], [world.v2])
    fleet_b, fleet_b_secret = new_client("erp b", "fleet", ["fleet:read"], [world.fleet_b])
    save_clients(api_settings_session.clients_file, {van.client_id: van, fleet_b.client_id: fleet_b})
    for c, secret, expected in ((van, van_secret, [world.v2]), (fleet_b, fleet_b_secret, [world.v3])):
        r = client.post("/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": c.client_id, "client_secret": secret})
        assert r.status_code == 200, r.text
        headers = auth(r.json()["access_token"])
        assert ids(client.get("/v1/vehicles", headers=headers).json()["items"]) == expected
        assert client.get(f"/v1/vehicles/{world.v1}", headers=headers).status_code == 404


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_python_m_api_serves_on_api_host_and_port(world: World, tmp_path: Path) -> None:
    """The real server (uvicorn, as make demo starts it): health, a token, the manager's two vehicles."""
    port = _free_port()
    s = api_settings(tmp_path)
    env = {**os.environ, "API_HOST": "127.0.0.1", "API_PORT": str(port), "API_SIGNING_KEY_FILE": str(s.signing_key_file),
           "API_CLIENTS_FILE": str(s.clients_file), "API_REFRESH_TOKENS_FILE": str(s.refresh_tokens_file),
           "API_TOKEN_ATTEMPTS_FILE": str(s.token_attempts_file)}
    log = (tmp_path / "api.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "api"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "api.log").read_text()
            try:
                if httpx2.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.2)
        r = httpx2.post(f"{base}/v1/oauth/token", data={"grant_type": "password", "username": "manager",
                                                          "password": world.passwords["manager"]})
        assert r.status_code == 200, r.text
        vehicles = httpx2.get(f"{base}/v1/vehicles", headers=auth(r.json()["access_token"])).json()["items"]
        assert ids(vehicles) == sorted([world.v1, world.v2])
        assert stat_mode(s.signing_key_file) == 0o600
        assert httpx2.get(f"{base}/openapi.json").json()["info"]["title"] == "ticktrack API"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_health_and_safety_scores_per_role(client: TestClient, world: World) -> None:
    parent = auth(token(client, world, "parent"))
    health = client.get(f"/v1/vehicles/{world.v1}/health", headers=parent).json()
    assert (health["status"], health["active_dtc"], health["next_service"], health["next_service_km"],
            health["next_service_date"]) == ("attention", "P0301", "Oil change", 15000.0, "2030-01-31")
    assert client.get(f"/v1/vehicles/{world.v2}/health", headers=parent).status_code == 404
    week = {"from": (datetime.now(UTC) - timedelta(days=2)).isoformat()}
    manager = client.get("/v1/safety-scores", headers=auth(token(client, world, "manager")), params=week).json()["items"]
    assert sorted((s["vehicle_id"], s["score"], s["trips"]) for s in manager) == [(world.v1, 91.0, 1), (world.v2, 91.0, 1)]
    assert [s["vehicle_id"] for s in client.get("/v1/safety-scores", headers=parent, params=week).json()["items"]] == [world.v1]


def test_quotes_and_ohlc_per_exchange(client: TestClient, world: World) -> None:
    trader = auth(token(client, world, "trader"))
    quotes = client.get("/v1/crypto/quotes", headers=trader, params={"symbol": world.symbol}).json()["quotes"]
    assert [(q["exchange"], q["bid"], q["ask"]) for q in quotes] == [("exa", 100.0, 100.5), ("exb", 101.0, 101.5), ("exc", 102.0, 102.5)]
    r = client.get("/v1/crypto/ohlc", headers=trader, params={"symbol": world.symbol, "exchange": "exa", **SIX_HOURS, "limit": 100_000})
    candles = r.json()["candles"]
    assert len(candles) == 50 and {c["exchange"] for c in candles} == {"exa"}  # 50 seeded minutes
    assert {(c["open"], c["high"], c["low"], c["close"]) for c in candles} == {(100.0, 101.0, 99.0, 100.3)}
    everything = client.get("/v1/crypto/ohlc", headers=trader, params={"symbol": world.symbol, **SIX_HOURS, "limit": 100_000})
    assert len(everything.json()["candles"]) == 150
    manager = auth(token(client, world, "manager"))
    assert client.get("/v1/crypto/quotes", headers=manager, params={"symbol": world.symbol}).status_code == 403
