"""Registry writes through the API against the real Kafka (this run's own compacted config topic), and device
credentials against a private Mosquitto with MQTT_AUTH=on.

Each change is read back from the topic with the dashboard's reader (``access.fleet_config.read_latest``):
exactly the record the flows will apply, or nothing when the API refused. Users: admin, a manager of
fleet A, a parent of A's car v1, a trader; fleet B's truck v3 is foreign to the manager.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from access.fleet_config import read_latest
from access.reads import Reads
from access.users import User, hash_password, save_users
from api.app import create_app
from api.context import ApiContext, limiter_for
from api.keys import load_or_create_key
from api.refresh import RefreshStore
from api.tokens import TokenSigner
from settings.stack import load_stack_settings
from tests.support.services import kafka_topics, unique
from tests.unit.api.conftest import Stub, api_settings

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Registry:
    client: TestClient
    topic: str
    run: str
    fa: str
    fb: str
    v1: str
    v2: str
    v3: str
    ctx: ApiContext

    def token(self, user: str) -> dict[str, str]:
        r = self.client.post("/v1/oauth/token", data={"grant_type": "password", "username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def latest(self, key: str) -> Any:
        return read_latest(load_stack_settings().kafka_config(), self.topic).get(key, "missing")


def square(lon: float, lat: float, d: float = 0.01) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]


def feature(gid: str, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(13.4, 52.5)},
            "properties": {"id": gid, "name": f"zone {gid}", "kind": "allowed", **properties}}


def make_registry(tmp: Path, topic: str, mqtt_var_dir: Path | None = None) -> Registry:
    run = unique("w").split("-")[1]
    fa, fb, v1, v2, v3 = f"wfa-{run}", f"wfb-{run}", f"wv1-{run}", f"wv2-{run}", f"wv3-{run}"
    vehicles, geofences = tmp / "vehicles.json", tmp / "geofences.geojson"
    vehicles.write_text(json.dumps({"fleets": [{"id": fa, "name": "A"}, {"id": fb, "name": "B"}], "vehicles": [
        {"id": v1, "name": "Car 1", "fleet_id": fa, "owner": "parent"},
        {"id": v2, "name": "Van 2", "fleet_id": fa, "speed_limit_kmh": 90},
        {"id": v3, "name": "Truck 3", "fleet_id": fb, "speed_limit_kmh": 80,
         "last_service": {"oil": {"date": "2025-06-02", "odometer_km": 84000}}}]}))
    geofences.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feature(f"ga-{run}", fleets=[fa]), feature(f"gb-{run}", fleets=[fb]), feature(f"gv1-{run}", vehicles=[v1])]}))
    extra: dict[str, Any] = {"mqtt_var_dir": mqtt_var_dir} if mqtt_var_dir else {}
    settings = api_settings(tmp, vehicles_file=vehicles, geofences_file=geofences, config_topic=topic, **extra)
    save_users(settings.users_file, {
        "admin": User("admin", "admin", hash_password(PASSWORD, 4)),
        "manager": User("manager", "fleet_manager", hash_password(PASSWORD, 4), fleets=(fa,)),
        "parent": User("parent", "parent", hash_password(PASSWORD, 4), vehicles=(v1,)),
        "trader": User("trader", "trader", hash_password(PASSWORD, 4)),
    })
    stub = Stub()  # writes read no InfluxDB
    ctx = ApiContext(settings=settings, kafka=load_stack_settings().kafka_config(),
                     signer=TokenSigner(load_or_create_key(settings.signing_key_file), settings.issuer, settings.audience,
                                        settings.access_token_ttl_s),
                     refresh=RefreshStore(settings.refresh_tokens_file, settings.refresh_token_ttl_s),
                     limiter=limiter_for(settings), reads=Reads(live=stub, history=stub, fleet_bucket="f", crypto_bucket="c"))
    app = create_app(settings)
    app.state.ctx = ctx
    return Registry(TestClient(app), topic, run, fa, fb, v1, v2, v3, ctx)


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Registry]:
    with kafka_topics(load_stack_settings(), unique("api-config"), partitions=1, config={"cleanup.policy": "compact"}) as (topic,):
        yield make_registry(tmp_path, topic)


def test_a_manager_deactivates_activates_and_limits_their_fleets_vehicle(reg: Registry) -> None:
    h = reg.token("manager")
    r = reg.client.post(f"/v1/vehicles/{reg.v2}/deactivate", headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == {"vehicle_id": reg.v2, "name": "Van 2", "fleet_id": reg.fa, "owner": None, "active": False,
                        "speed_limit_kmh": 90.0, "key": f"vehicle:{reg.v2}"}
    assert reg.latest(f"vehicle:{reg.v2}") == {"id": reg.v2, "name": "Van 2", "fleet_id": reg.fa, "owner": None,
                                               "active": False, "speed_limit_kmh": 90.0}
    # the next write starts from the published record (the topic read to its end), not from the file
    r = reg.client.patch(f"/v1/vehicles/{reg.v2}", headers=h, json={"speed_limit_kmh": 70})
    assert (r.status_code, r.json()["active"], r.json()["speed_limit_kmh"]) == (200, False, 70.0)
    assert reg.client.post(f"/v1/vehicles/{reg.v2}/activate", headers=h).json()["active"] is True
    assert reg.latest(f"vehicle:{reg.v2}")["active"] is True and reg.latest(f"vehicle:{reg.v2}")["speed_limit_kmh"] == 70.0
    r = reg.client.patch(f"/v1/vehicles/{reg.v2}", headers=h, json={"speed_limit_kmh": None})
    assert r.status_code == 200 and reg.latest(f"vehicle:{reg.v2}")["speed_limit_kmh"] is None
    bad = reg.client.patch(f"/v1/vehicles/{reg.v2}", headers=h, json={"speed_limit_kmh": -5})
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"


def test_an_admin_change_keeps_the_vehicles_other_fields(reg: Registry) -> None:
    r = reg.client.patch(f"/v1/vehicles/{reg.v3}", headers=reg.token("admin"), json={"active": False, "speed_limit_kmh": 60})
    assert r.status_code == 200, r.text
    assert reg.latest(f"vehicle:{reg.v3}") == {"id": reg.v3, "name": "Truck 3", "fleet_id": reg.fb, "owner": None, "active": False,
                                               "speed_limit_kmh": 60.0,
                                               "last_service": {"oil": {"date": "2025-06-02", "odometer_km": 84000}}}


def test_vehicle_writes_outside_the_scope_or_without_fleet_write_publish_nothing(reg: Registry) -> None:
    manager = reg.token("manager")
    for path in (f"/v1/vehicles/{reg.v3}/deactivate", f"/v1/vehicles/no-such-{reg.run}/deactivate"):
        r = reg.client.post(path, headers=manager)
        assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (404, "not-found"), r.text
    for user in ("parent", "trader"):
        r = reg.client.post(f"/v1/vehicles/{reg.v1}/deactivate", headers=reg.token(user))
        assert (r.status_code, r.json()["required_scope"]) == (403, "fleet:write")
    assert reg.client.post(f"/v1/vehicles/{reg.v1}/deactivate").status_code == 401
    assert read_latest(load_stack_settings().kafka_config(), reg.topic) == {}


def test_geofences_listed_by_scope(reg: Registry) -> None:
    def listed(user: str) -> list[str]:
        r = reg.client.get("/v1/geofences", headers=reg.token(user))
        assert r.status_code == 200, r.text
        assert r.json()["type"] == "FeatureCollection"
        return [f["properties"]["id"] for f in r.json()["features"]]

    ga, gb, gv1 = f"ga-{reg.run}", f"gb-{reg.run}", f"gv1-{reg.run}"
    assert listed("admin") == [ga, gb, gv1]
    assert listed("manager") == [ga, gv1]
    assert listed("parent") == [ga, gv1]  # their car's fleet's geofence too, as on the dashboard's map
    assert reg.client.get("/v1/geofences", headers=reg.token("trader")).status_code == 403
    assert reg.client.get(f"/v1/geofences/{gb}", headers=reg.token("manager")).status_code == 404
    assert reg.client.get(f"/v1/geofences/{ga}", headers=reg.token("parent")).json()["properties"]["id"] == ga


def test_a_manager_creates_replaces_and_deletes_a_geofence_of_their_fleet(reg: Registry) -> None:
    h, gid = reg.token("manager"), f"gnew-{reg.run}"
    created = reg.client.post("/v1/geofences", headers=h, json=feature(gid, fleets=[reg.fa], kind="forbidden"))
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/geofences/{gid}"
    assert reg.latest(f"geofence:{gid}") == feature(gid, fleets=[reg.fa], kind="forbidden")
    assert reg.client.post("/v1/geofences", headers=h, json=feature(gid, fleets=[reg.fa])).status_code == 409
    replaced = reg.client.put(f"/v1/geofences/{gid}", headers=h, json=feature(gid, fleets=[reg.fa], name="renamed"))
    assert replaced.status_code == 200 and reg.latest(f"geofence:{gid}")["properties"]["name"] == "renamed"
    assert gid in [f["properties"]["id"] for f in reg.client.get("/v1/geofences", headers=h).json()["features"]]
    assert reg.client.delete(f"/v1/geofences/{gid}", headers=h).status_code == 204
    assert reg.latest(f"geofence:{gid}") is None  # a tombstone: the flows drop it
    assert reg.client.get(f"/v1/geofences/{gid}", headers=h).status_code == 404
    # a file geofence is deleted the same way
    assert reg.client.delete(f"/v1/geofences/gv1-{reg.run}", headers=h).status_code == 204
    assert reg.latest(f"geofence:gv1-{reg.run}") is None


def test_geofence_writes_a_manager_may_not_make(reg: Registry) -> None:
    h = reg.token("manager")
    refused = [
        (reg.client.post("/v1/geofences", headers=h, json=feature(f"gx-{reg.run}", fleets=[reg.fb])), 403),
        (reg.client.post("/v1/geofences", headers=h, json=feature(f"gx-{reg.run}", vehicles=[reg.v3])), 403),
        (reg.client.post("/v1/geofences", headers=h, json=feature(f"gx-{reg.run}")), 403),  # untargeted = every vehicle
        (reg.client.put(f"/v1/geofences/gb-{reg.run}", headers=h, json=feature(f"gb-{reg.run}", fleets=[reg.fa])), 404),
        (reg.client.delete(f"/v1/geofences/gb-{reg.run}", headers=h), 404),
        (reg.client.put(f"/v1/geofences/ga-{reg.run}", headers=h, json=feature(f"other-{reg.run}", fleets=[reg.fa])), 400),
        (reg.client.post("/v1/geofences", headers=h, json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [13, 52]},
                                                           "properties": {"id": f"gx-{reg.run}", "name": "no radius", "kind": "allowed",
                                                                          "fleets": [reg.fa]}}), 400),
        (reg.client.post("/v1/geofences", headers=reg.token("parent"), json=feature(f"gx-{reg.run}", vehicles=[reg.v1])), 403),
    ]
    assert [(r.status_code, want) for r, want in refused] == [(want, want) for _, want in refused], [r.text for r, _ in refused]
    assert refused[0][0].json()["detail"] == f"outside your data scope: fleet {reg.fb}"
    assert read_latest(load_stack_settings().kafka_config(), reg.topic) == {}
    admin = reg.client.post("/v1/geofences", headers=reg.token("admin"), json=feature(f"gall-{reg.run}"))
    assert admin.status_code == 201 and reg.latest(f"geofence:gall-{reg.run}")["properties"]["id"] == f"gall-{reg.run}"


# --- device credentials on a private broker with MQTT_AUTH=on

@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Any]:
    from tests.support.private_stack import PrivateStack, free_port

    b = PrivateStack.create(tmp_path / "var")
    b.extra_env = {"MQTT_AUTH": "on", "MQTT_SERVICE_PORT": str(free_port())}
    b.up("mosquitto")
    try:
        yield b
    finally:
        b.down("mosquitto")


ACCEPTED, REFUSED = ("Success",), ("Bad user name or password", "Not authorized")  # MQTT 5 reason texts


def _connack_within(url: str, want: tuple[str, ...], timeout_s: float = 5.0) -> tuple[str, ...]:
    """The broker reloads its password file on SIGHUP: poll until the answer is one of ``want`` (or time runs out)."""
    from tests.integration.test_mqtt_auth import connack

    deadline, got = time.monotonic() + timeout_s, ""
    while time.monotonic() < deadline:
        got = connack(url)
        if got in want:
            return want
        time.sleep(0.2)
    return (got,)


def test_an_admin_creates_rotates_and_removes_a_devices_mqtt_password(tmp_path: Path, broker: Any) -> None:
    with kafka_topics(load_stack_settings(), unique("api-config"), partitions=1, config={"cleanup.policy": "compact"}) as (topic,):
        reg = make_registry(tmp_path, topic, mqtt_var_dir=broker.var_dir)
        base, path = f"127.0.0.1:{broker.mqtt_port}", f"/v1/vehicles/{reg.v2}/device-credentials"
        admin = reg.token("admin")
        first = reg.client.post(path, headers=admin)
        assert first.status_code == 201, first.text
        body = first.json()
        assert (body["username"], body["topic"], body["rotated"]) == (reg.v2, f"fleet/{reg.v2}/telemetry", False)
        assert first.headers["cache-control"] == "no-store"
        assert _connack_within(f"mqtt://{reg.v2}:{body['password']}@{base}", ACCEPTED) == ACCEPTED
        second = reg.client.post(path, headers=admin).json()
        assert second["rotated"] is True and second["password"] != body["password"]
        assert _connack_within(f"mqtt://{reg.v2}:{second['password']}@{base}", ACCEPTED) == ACCEPTED
        assert _connack_within(f"mqtt://{reg.v2}:{body['password']}@{base}", REFUSED) == REFUSED
        for user in ("manager", "parent", "trader"):
            r = reg.client.post(path, headers=reg.token(user))
            assert (r.status_code, r.json()["required_scope"]) == (403, "admin")
        assert reg.client.post(f"/v1/vehicles/no-such-{reg.run}/device-credentials", headers=admin).status_code == 404
        assert reg.client.delete(path, headers=admin).status_code == 204
        assert _connack_within(f"mqtt://{reg.v2}:{second['password']}@{base}", REFUSED) == REFUSED
        assert reg.client.delete(path, headers=admin).status_code == 404


def test_device_credentials_are_a_409_when_the_broker_runs_without_passwords(tmp_path: Path) -> None:
    with kafka_topics(load_stack_settings(), unique("api-config"), partitions=1, config={"cleanup.policy": "compact"}) as (topic,):
        reg = make_registry(tmp_path, topic, mqtt_var_dir=tmp_path / "var-without-mqtt-auth")
        r = reg.client.post(f"/v1/vehicles/{reg.v1}/device-credentials", headers=reg.token("admin"))
        assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "device-auth-off"), r.text
