"""Shared fixtures: one seeded world per test session in the REAL InfluxDB, users, registry files.

World of run ``<id>``: fleet A = {v1 moving, v2 alerting}, fleet B = {v3 offline}; a symbol
``T<id>/USDT`` on three exchanges (exc stale). Users: admin, manager (fleet A), parent (v1),
trader. Everything written is deleted at the end; InfluxDB down = errors, never skips.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.users import User, hash_password, save_users
from settings.stack import load_stack_settings
from tests.dashboard.seed import SeedVehicle, crypto_points, delete_where, fleet_points, new_run_id, operator_client, write

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
HTML_NAME = "<b>Family car</b> <script>alert(1)</script>"


@dataclass(frozen=True)
class World:
    """Ids of what this session wrote, and the users' passwords (generated, never stored)."""

    run: str
    fleet_a: str
    fleet_b: str
    v1: str
    v2: str
    v3: str
    symbol: str
    passwords: dict[str, str]
    geofence_a: str
    geofence_v1: str
    geofence_other: str

    @property
    def vehicles(self) -> set[str]:
        return {self.v1, self.v2, self.v3}


def _registry_files(tmp: Path, w: World) -> tuple[Path, Path]:
    vehicles = tmp / "vehicles.json"
    vehicles.write_text(json.dumps({"fleets": [{"id": w.fleet_a, "name": "Fleet A"}, {"id": w.fleet_b, "name": "Fleet B"}],
                                    "vehicles": [
        {"id": w.v1, "name": HTML_NAME, "fleet_id": w.fleet_a, "owner": "parent", "active": True},
        {"id": w.v2, "name": "Van 2", "fleet_id": w.fleet_a, "owner": "driver-x", "active": True, "speed_limit_kmh": 90},
        # the admin tests change (and finally tombstone) v3 in fleet.config; no other test reads v3's registry entry
        {"id": w.v3, "name": "Truck 3", "fleet_id": w.fleet_b, "active": True, "speed_limit_kmh": 80,
         "last_service": {"oil": {"date": "2025-06-02", "odometer_km": 84000}}},
        {"name": "entry without id is reported, not fatal"},
    ]}))
    square = [[13.39, 52.49], [13.43, 52.49], [13.43, 52.53], [13.39, 52.53], [13.39, 52.49]]
    geofences = tmp / "geofences.geojson"
    geofences.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square]},
         "properties": {"id": w.geofence_a, "name": "Depot A", "kind": "allowed", "fleets": [w.fleet_a]}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.40, 52.50]},
         "properties": {"id": w.geofence_v1, "name": "School", "kind": "allowed", "radius_m": 300, "vehicles": [w.v1],
                        "schedule": {"timezone": "UTC", "windows": [{"days": ["mon", "tue"], "start": "07:00", "end": "17:00"}]}}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square]},
         "properties": {"id": w.geofence_other, "name": "Other fleet yard", "kind": "forbidden",
                        "fleets": [f"other-{w.run}"]}},
    ]}))
    return vehicles, geofences


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Seed InfluxDB and the config files; set the dashboard's environment for the session."""
    settings = load_stack_settings()
    client = operator_client(settings)  # raises StackUnreachable -> every test errors loudly
    run = new_run_id()
    w = World(run=run, fleet_a=f"tfa-{run}", fleet_b=f"tfb-{run}", v1=f"tv1-{run}", v2=f"tv2-{run}", v3=f"tv3-{run}",
              symbol=f"T{run}/USDT", passwords={r: secrets.token_urlsafe(12) for r in ("admin", "manager", "parent", "trader")},
              geofence_a=f"gA-{run}", geofence_v1=f"gV1-{run}", geofence_other=f"gO-{run}")
    now = datetime.now(UTC)
    write(client, settings.influx_bucket_fleet, settings.influx_org, fleet_points([
        SeedVehicle(w.v1, w.fleet_a, 52.50, 13.40, 50.0),
        SeedVehicle(w.v2, w.fleet_a, 52.51, 13.41, 0.0, critical_alert=True),
        SeedVehicle(w.v3, w.fleet_b, 52.52, 13.42, 0.0, fix_age_s=3600),
    ], now))
    write(client, settings.influx_bucket_crypto, settings.influx_org,
          crypto_points(w.symbol, ["exa", "exb", "exc"], now, stale="exc"))

    tmp = tmp_path_factory.mktemp("dashboard")
    users = {
        "admin": User("admin", "admin", hash_password(w.passwords["admin"], 4)),
        "manager": User("manager", "fleet_manager", hash_password(w.passwords["manager"], 4), fleets=(w.fleet_a,)),
        "parent": User("parent", "parent", hash_password(w.passwords["parent"], 4), vehicles=(w.v1,)),
        "trader": User("trader", "trader", hash_password(w.passwords["trader"], 4)),
    }
    save_users(tmp / "users.json", users)
    vehicles, geofences = _registry_files(tmp, w)
    mp = pytest.MonkeyPatch()
    mp.setenv("DASHBOARD_USERS_FILE", str(tmp / "users.json"))
    mp.setenv("DASHBOARD_VEHICLES_FILE", str(vehicles))
    mp.setenv("DASHBOARD_GEOFENCES_FILE", str(geofences))
    # Fresh quotes are seeded 2 s old, the stale exchange 10 min old: a 5-minute threshold keeps
    # "fresh" fresh however long the suite runs on a loaded machine (30 s did not, in CI-like runs).
    mp.setenv("DASHBOARD_QUOTE_STALE_AFTER_S", "300")
    try:
        yield w
    finally:
        mp.undo()
        for fleet in (w.fleet_a, w.fleet_b):
            delete_where(client, settings.influx_bucket_fleet, settings.influx_org, f'fleet_id="{fleet}"')
        delete_where(client, settings.influx_bucket_crypto, settings.influx_org, f'symbol="{w.symbol}"')
        client.close()


def sign_in(world: World, user: str, password: str | None = None) -> AppTest:
    """A fresh app, signed in through the real form."""
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, at.exception
    at.text_input(key="sign_in_name").set_value(user)
    at.text_input(key="sign_in_password").set_value(world.passwords.get(user, "") if password is None else password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    """Switch to a page of the app and run it; fails the test on an exception in the page."""
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> list[str]:
    """Every plain text element's content."""
    return [t.value for t in at.text]


def plotly_specs(at: AppTest) -> list[dict]:
    """Figures of every plotly chart on the page."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def values(array: object) -> list:
    """A plotly figure array as a list (plotly ships numeric arrays as base64 typed arrays)."""
    if isinstance(array, dict) and "bdata" in array:
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"])).tolist()
    return list(array or [])
