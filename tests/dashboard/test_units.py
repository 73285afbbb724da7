"""Pure parts of the dashboard: Flux text never carries values, scope rules, users file, CSV, status."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from access import flux
from access.scope import Scope, scope_for
from access.status import vehicle_status
from access.users import User, check_password, hash_password, load_users
from dashboard.registry import overlay, read_registry
from dashboard.widgets import csv_bytes

EVIL = 'x") or true or ("'


def test_user_values_travel_as_parameters_only() -> None:
    scope = Scope(fleets=frozenset([EVIL]), vehicles=frozenset(["v1"]))
    q, p = flux.records("fleet", "alerts", scope, timedelta(hours=1), None, 10, vehicles=[EVIL], types=[EVIL],
                        severities=["critical"])
    assert EVIL not in q and "critical" not in q
    assert sorted(k for k, v in p.items() if v == EVIL) == ["p_sf0", "p_t0", "p_v0"]
    q, p = flux.vehicle_stats("fleet", scope, EVIL, timedelta(days=2), None, timedelta(minutes=2))
    assert EVIL not in q and p["p_vehicle"] == EVIL
    q, p = flux.ohlc("crypto", EVIL, [EVIL], timedelta(days=2), None, timedelta(minutes=5))
    assert EVIL not in q and p["p_symbol"] == EVIL and p["p_x0"] == EVIL


def test_scope_filters() -> None:
    assert flux.scope_filter(Scope(all_fleets=True), {}) == ""
    p: dict = {}
    line = flux.scope_filter(Scope(fleets=frozenset(["b", "a"]), vehicles=frozenset(["v"])), p)
    assert line == "  |> filter(fn: (r) => (r.fleet_id == p_sf0 or r.fleet_id == p_sf1) or (r.vehicle_id == p_sv0))\n"
    assert p == {"p_sf0": "a", "p_sf1": "b", "p_sv0": "v"}
    with pytest.raises(flux.EmptyScope):
        flux.scope_filter(Scope(prices=True), {})  # a trader reaches no fleet data


def _user(role: str, fleets: tuple[str, ...] = (), vehicles: tuple[str, ...] = ()) -> User:
    return User("u", role, "$2b$04$" + "x" * 53, fleets, vehicles)  # type: ignore[arg-type]


def test_scope_per_role() -> None:
    assert scope_for(_user("admin")).allows("any", "any")
    manager = scope_for(_user("fleet_manager", fleets=("f1",)))
    assert manager.allows("v9", "f1") and not manager.allows("v9", "f2") and not manager.prices
    parent = scope_for(_user("parent", vehicles=("car",)))
    assert parent.allows("car", "f2") and not parent.allows("other", "f2")
    assert parent.sees_geofence([], ["f2"], {"car": "f2"})  # the fleet of their car
    assert not parent.sees_geofence([], [], {"car": "f2"})  # untargeted: admins only
    trader = scope_for(_user("trader"))
    assert trader.prices and not trader.sees_fleet_data


def test_password_hashing() -> None:
    h = hash_password("correct horse", rounds=4)
    assert check_password("correct horse", h) and not check_password("wrong horse", h)
    assert not check_password("x", "not a hash")
    with pytest.raises(ValueError):
        hash_password("short", rounds=4)
    with pytest.raises(ValueError):
        hash_password("é" * 40, rounds=4)  # 80 bytes: bcrypt would silently truncate


def test_users_cli_writes_hash_not_password(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    env = {"DASHBOARD_BCRYPT_ROUNDS": "4", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "dashboard.users", "--file", str(path), "add", "ann", "--role", "parent",
                          "--vehicles", "car-1,car-2", "--password-stdin"], input="s3cret-pass\n", text=True,
                         capture_output=True, env=env, check=False)
    assert run.returncode == 0, run.stderr
    assert "s3cret-pass" not in path.read_text()
    user = load_users(path)["ann"]
    assert user.role == "parent" and user.vehicles == ("car-1", "car-2") and check_password("s3cret-pass", user.password_hash)
    demo = subprocess.run([sys.executable, "-m", "dashboard.users", "--file", str(path), "demo"], text=True,
                          capture_output=True, env={**env, "DASHBOARD_DEMO_PASSWORD": "demo-pass-1"}, check=False)
    assert demo.returncode == 0, demo.stderr
    assert sorted(load_users(path)) == ["admin", "ann", "manager", "parent", "trader"]
    missing = subprocess.run([sys.executable, "-m", "dashboard.users", "--file", str(path), "add", "bob", "--role",
                              "fleet_manager", "--password-stdin"], input="s3cret-pass\n", text=True,
                             capture_output=True, env=env, check=False)
    assert missing.returncode == 2 and "needs --fleets" in missing.stderr


def test_committed_users_file_has_no_plaintext() -> None:
    doc = json.loads((Path(__file__).resolve().parents[2] / "config" / "dashboard-users.json").read_text())
    for entry in doc["users"].values():
        assert set(entry) <= {"role", "password_hash", "fleets", "vehicles"} and entry["password_hash"].startswith("$2")


def test_csv_export_defuses_formulas() -> None:
    out = csv_bytes(pd.DataFrame({"message": ["=cmd|x", "+1", "ok"], "value": [-1.0, 2.0, 3.0]})).decode()
    assert out.splitlines() == ["message,value", "'=cmd|x,-1.0", "'+1,2.0", "ok,3.0"]


def test_status_precedence() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert vehicle_status(now - timedelta(seconds=601), 50, 3, now, 600, 2) == "offline"
    assert vehicle_status(now, 50, 1, now, 600, 2) == "alerting"
    assert vehicle_status(now, 50, 0, now, 600, 2) == "moving"
    assert vehicle_status(now, 2, 0, now, 600, 2) == "idle"


def test_registry_shows_what_the_flows_accept_and_lists_the_rest(tmp_path: Path) -> None:
    """The flows' strict models item by item: a bad item is a problem line, never half-read or skipped."""
    vehicles_file, geofences_file = tmp_path / "vehicles.json", tmp_path / "geofences.geojson"
    vehicles_file.write_text(json.dumps({"fleets": [{"id": "f1", "name": "F"}], "vehicles": [
        {"id": "v1", "name": "A", "fleet_id": "f1"}, {"id": "v2", "name": "B", "active": "false"}, "junk",
        {"id": "v3", "name": "C", "fleet_id": "nope"}, {"id": "v4", "name": "D", "active": "maybe"}]}))
    geofences_file.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
         "properties": {"id": "road", "kind": "allowed", "width_m": 50}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}, "properties": {"id": "bad", "kind": "maybe"}},
    ]}))
    files = read_registry(vehicles_file, geofences_file)
    assert list(files.vehicles) == ["v1", "v2"] and list(files.geofences) == ["road"]
    assert files.vehicles["v2"].active is False  # "false" is false, as for the flows (the old reader made it True)
    assert len(files.problems) == 4  # "junk" not an object, fleet unknown, "maybe" not a boolean, kind unknown
    assert any("vehicles[4]: active" in p for p in files.problems) and any("'bad'" in p for p in files.problems)
    live = overlay(files, {"vehicle:v9": b'{"id": "v9", "name": "Z"}', "vehicle:v1": None, "vehicle:v8": b"{not json",
                           "geofence:road": None})
    assert list(live.vehicles) == ["v2", "v9"] and not live.geofences
    assert len(live.problems) == 5 and "fleet.config: change 'vehicle:v8': value is not JSON" in live.problems[-1]
