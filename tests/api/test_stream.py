"""``/v1/stream`` against the real Kafka: alerts, positions and spreads reach the right token within a second, never
another fleet's; the token's scopes pick the channels; a reconnect with the last cursors gets exactly what it missed.

Every test publishes to this module's own topics (alerts and positions with 2 partitions, spreads, a compacted config
topic) and waits by condition with a deadline, never by sleeping.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from contracts.alert import COOLANT_HIGH, REFUEL, Alert, Severity, make_alert
from contracts.avro import TELEMETRY_SCHEMA_HEADER, encode
from contracts.telemetry import Telemetry, to_avro_record
from settings.stack import load_stack_settings
from tests.api.conftest import World, api_settings, token
from tests.support.services import kafka_topics, unique

pytestmark = pytest.mark.integration
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=8)


@dataclass(frozen=True)
class Topics:
    alerts: str
    positions: str
    spreads: str


def receive(ws: WebSocketTestSession, within_s: float) -> dict[str, Any]:
    """The next message, or a failed test after ``within_s`` (the test client itself has no timeout)."""
    message: dict[str, Any] = _pool.submit(ws.receive_json).result(timeout=within_s)
    return message


def receive_until(ws: WebSocketTestSession, done: Any, within_s: float) -> list[dict[str, Any]]:
    """Messages until ``done(messages)`` holds; a failed test when the deadline passes first."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + within_s
    while not done(got):
        left = deadline - time.monotonic()
        assert left > 0, f"not within {within_s} s; got {got}"
        got.append(receive(ws, left))
    return got


@pytest.fixture(scope="module")
def stream_client(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Topics]]:
    s = load_stack_settings()
    names = (unique("api-alerts"), unique("api-positions"), unique("api-spreads"))
    with kafka_topics(s, *names, partitions=2) as (alerts, positions, spreads), \
            kafka_topics(s, unique("api-config"), partitions=1, config={"cleanup.policy": "compact"}) as (config,):
        settings = api_settings(tmp_path_factory.mktemp("stream"), alerts_topic=alerts, positions_topic=positions,
                                spreads_topic=spreads, config_topic=config)
        with TestClient(create_app(settings)) as c:
            yield c, Topics(alerts, positions, spreads)


def _producer() -> Producer:
    return Producer({**load_stack_settings().kafka_config(), "log_level": 2})


def _publish_alerts(topic: str, *alerts: Alert, partition: int = 0) -> None:
    producer = _producer()
    for a in alerts:
        producer.produce(topic, key=a.vehicle_id.encode(), value=a.to_json().encode(), partition=partition)
    assert producer.flush(10) == 0


def _publish_fix(topic: str, vehicle: str, speed: float, partition: int = 0) -> Telemetry:
    fix = Telemetry(vehicle_id=vehicle, ts_ms=int(time.time() * 1000), lat=52.5, lon=13.4, speed_kmh=speed, ignition=True)
    producer = _producer()
    producer.produce(topic, key=vehicle.encode(), value=encode("telemetry", to_avro_record(fix)), partition=partition,
                     headers=[TELEMETRY_SCHEMA_HEADER])
    assert producer.flush(10) == 0
    return fix


def _publish_spread(topic: str, symbol: str, mid: float) -> dict[str, Any]:
    doc = {"symbol": symbol, "ts": int(time.time() * 1000), "best_bid": mid - 1, "best_bid_exchange": "x1", "best_ask": mid + 1,
           "best_ask_exchange": "x2", "mid": mid, "spread": 2.0, "spread_pct": 2 / mid * 100, "arbitrage_pct_after_fees": -0.1,
           "exchanges_counted": 2, "exchanges_excluded": []}
    producer = _producer()
    producer.produce(topic, key=symbol.encode(), value=json.dumps(doc).encode())
    assert producer.flush(10) == 0
    return doc


def _alert(vehicle: str, fleet: str, kind: str, severity: Severity) -> Alert:
    now = int(time.time() * 1000)
    return make_alert(vehicle_id=vehicle, fleet_id=fleet, type=kind, severity=severity, ts=now, episode_ts=now,
                      message=f"{kind} {vehicle}", value=121.0, threshold=120.0, lat=52.5, lon=13.4)


def _connect(c: TestClient, world: World, user: str, **first: Any) -> tuple[WebSocketTestSession, dict[str, Any]]:
    ws = c.websocket_connect("/v1/stream").__enter__()
    ws.send_json({"type": "subscribe", "access_token": token(c, world, user), **first})
    ready = receive(ws, 30)
    assert ready["type"] == "ready", ready
    return ws, ready


def _close(*sockets: WebSocketTestSession) -> None:
    for ws in sockets:
        ws.__exit__(None, None, None)


def test_an_alert_reaches_the_manager_within_a_second_and_the_parent_never_sees_another_vehicle(
        stream_client: tuple[TestClient, Topics], world: World) -> None:
    c, topics = stream_client
    (manager, ready), (parent, _) = _connect(c, world, "manager"), _connect(c, world, "parent")
    try:
        assert ready["channels"] == ["alerts", "positions"] and set(ready["cursors"]["alerts"]) == {"0", "1"}
        van = _alert(world.v2, world.fleet_a, COOLANT_HIGH, "critical")
        foreign = _alert(world.v3, world.fleet_b, COOLANT_HIGH, "critical")
        car = _alert(world.v1, world.fleet_a, REFUEL, "info")
        t0 = time.monotonic()
        _publish_alerts(topics.alerts, foreign, van)
        got = receive(manager, 1.0)  # the foreign fleet's alert came first on the partition: filtered out
        assert time.monotonic() - t0 < 1.0
        assert got["type"] == "alert" and got["alert"] == van.to_dict()
        assert got["cursor"]["channel"] == "alerts" and got["cursor"]["partition"] == 0
        _publish_alerts(topics.alerts, car)
        assert receive(manager, 1.0)["alert"]["alert_id"] == car.alert_id
        # the parent's first alert is their car's: neither the van nor the other fleet's truck came before it
        assert receive(parent, 1.0)["alert"]["alert_id"] == car.alert_id
    finally:
        _close(manager, parent)


def test_positions_by_data_scope_and_spreads_only_for_price_tokens(stream_client: tuple[TestClient, Topics], world: World) -> None:
    c, topics = stream_client
    (manager, _), (parent, _), (trader, tready) = (_connect(c, world, "manager"), _connect(c, world, "parent"),
                                                   _connect(c, world, "trader"))
    try:
        assert tready["channels"] == ["spreads"]
        _publish_fix(topics.positions, world.v3, 70.0)  # fleet B: nobody here may see it
        _publish_fix(topics.positions, world.v2, 30.0)
        van = receive(manager, 1.0)
        assert van["type"] == "position" and van["position"] == {
            "vehicle_id": world.v2, "fleet_id": world.fleet_a, "ts_ms": van["position"]["ts_ms"], "lat": 52.5, "lon": 13.4,
            "speed_kmh": 30.0, "heading_deg": None, "ignition": True}  # the fleet from the registry file
        car = _publish_fix(topics.positions, world.v1, 50.0, partition=1)
        assert receive(manager, 1.0)["position"]["vehicle_id"] == world.v1
        first = receive(parent, 1.0)  # neither the van's nor the truck's came before it
        assert (first["position"]["vehicle_id"], first["position"]["ts_ms"], first["cursor"]["partition"]) == (world.v1, car.ts_ms, 1)
        spread = _publish_spread(topics.spreads, f"T{world.run}/USDT", 100.0)
        got = receive(trader, 1.0)
        assert got["type"] == "spread" and got["spread"] == spread
        # the fleet tokens got nothing of the spread: their next message is the next alert
        alert = _alert(world.v1, world.fleet_a, REFUEL, "info")
        _publish_alerts(topics.alerts, alert)
        assert receive(manager, 1.0)["alert"]["alert_id"] == alert.alert_id
        assert receive(parent, 1.0)["alert"]["alert_id"] == alert.alert_id
    finally:
        _close(manager, parent, trader)


def test_a_reconnect_with_the_last_cursors_gets_exactly_what_it_missed(stream_client: tuple[TestClient, Topics], world: World) -> None:
    c, topics = stream_client
    ws, ready = _connect(c, world, "manager", channels=["alerts"])
    cursors = dict(ready["cursors"]["alerts"])  # a client starts from the ready cursors and keeps each message's
    a1 = _alert(world.v1, world.fleet_a, REFUEL, "info")
    _publish_alerts(topics.alerts, a1, partition=1)
    got = receive(ws, 1.0)
    assert got["alert"]["alert_id"] == a1.alert_id
    cursors[str(got["cursor"]["partition"])] = got["cursor"]["offset"]
    _close(ws)
    # while disconnected: two on partition 1, one on partition 0 (and another fleet's, which is never delivered)
    missed = [_alert(world.v2, world.fleet_a, COOLANT_HIGH, "critical"), _alert(world.v1, world.fleet_a, REFUEL, "info")]
    _publish_alerts(topics.alerts, missed[0], _alert(world.v3, world.fleet_b, COOLANT_HIGH, "critical"), missed[1], partition=1)
    p0 = _alert(world.v2, world.fleet_a, REFUEL, "info")
    _publish_alerts(topics.alerts, p0, partition=0)
    ws2, _ = _connect(c, world, "manager", channels=["alerts"], resume={"alerts": cursors})
    try:
        replayed = receive_until(ws2, lambda m: len(m) == 3, 5.0)
        assert sorted(m["alert"]["alert_id"] for m in replayed) == sorted([missed[0].alert_id, missed[1].alert_id, p0.alert_id])
        assert [m["alert"]["alert_id"] for m in replayed if m["cursor"]["partition"] == 1] == [missed[0].alert_id, missed[1].alert_id]
        # then live, with no repeat of the replayed ones
        live = _alert(world.v1, world.fleet_a, REFUEL, "info")
        _publish_alerts(topics.alerts, live, partition=1)
        assert receive(ws2, 1.0)["alert"]["alert_id"] == live.alert_id
    finally:
        _close(ws2)


def test_the_token_in_the_websocket_protocol_header(stream_client: tuple[TestClient, Topics], world: World) -> None:
    c, topics = stream_client
    with c.websocket_connect("/v1/stream", subprotocols=["ticktrack.v1", f"bearer.{token(c, world, 'parent')}"]) as ws:
        assert ws.accepted_subprotocol == "ticktrack.v1"  # never the token
        ws.send_json({"type": "subscribe", "channels": ["alerts"]})
        assert receive(ws, 30)["type"] == "ready"
        alert = _alert(world.v1, world.fleet_a, REFUEL, "info")
        _publish_alerts(topics.alerts, alert)
        assert receive(ws, 1.0)["alert"]["alert_id"] == alert.alert_id


def test_the_stream_refuses_a_missing_bad_or_unscoped_token(stream_client: tuple[TestClient, Topics], world: World,
                                                             tmp_path: Path) -> None:
    c, _ = stream_client
    cases = (({"type": "hello"}, 401), ({"type": "subscribe", "access_token": "forged"}, 401),
             ({"type": "subscribe", "access_token": token(c, world, "trader"), "channels": ["alerts"]}, 403),
             ({"type": "subscribe", "access_token": token(c, world, "manager"), "channels": ["spreads"]}, 403),
             ({"type": "subscribe", "access_token": token(c, world, "manager"), "channels": ["nope"]}, 400),
             ({"type": "subscribe", "access_token": token(c, world, "manager"), "resume": {"alerts": "x"}}, 400))
    for first, status in cases:
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_json(first)
            error = receive(ws, 5)
            assert (error["type"], error["status"]) == ("error", status), (first, error)
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1008


def test_python_m_api_streams_a_published_alert_to_a_websockets_client(world: World, tmp_path: Path) -> None:
    """The real server (uvicorn, as make demo starts it) and a real WebSocket client, token in Sec-WebSocket-Protocol."""
    import os
    import subprocess
    import sys

    import httpx2
    from websockets.sync.client import connect

    from settings.stack import REPO_ROOT
    from tests.support.private_stack import free_port

    s, port = load_stack_settings(), free_port()
    with kafka_topics(s, unique("api-alerts"), unique("api-positions"), unique("api-spreads"), partitions=1) as (alerts, pos, spr):
        env = {**os.environ, "API_HOST": "127.0.0.1", "API_PORT": str(port), "API_SIGNING_KEY_FILE": str(tmp_path / "key"),
               "API_REFRESH_TOKENS_FILE": str(tmp_path / "refresh.sqlite"), "API_TOKEN_ATTEMPTS_FILE": str(tmp_path / "attempts.sqlite"),
               "API_CLIENTS_FILE": str(tmp_path / "clients.json"), "API_ALERTS_TOPIC": alerts, "API_POSITIONS_TOPIC": pos,
               "API_SPREADS_TOPIC": spr}
        log_path = tmp_path / "api.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "api"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                base, deadline = f"127.0.0.1:{port}", time.monotonic() + 30
                while True:
                    assert proc.poll() is None, log_path.read_text()
                    try:
                        if httpx2.get(f"http://{base}/v1/health", timeout=2).status_code == 200:
                            break
                    except httpx2.TransportError:
                        pass
                    assert time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.2)
                tokens = {u: httpx2.post(f"http://{base}/v1/oauth/token", data={"grant_type": "password", "username": u,
                                                                              "password": world.passwords[u]}).json()["access_token"]
                          for u in ("manager", "parent")}
                offered: Any = ["ticktrack.v1", f"bearer.{tokens['manager']}"]
                with connect(f"ws://{base}/v1/stream", subprotocols=offered) as manager, \
                        connect(f"ws://{base}/v1/stream") as parent:
                    assert manager.subprotocol == "ticktrack.v1"
                    manager.send(json.dumps({"type": "subscribe", "channels": ["alerts"]}))
                    parent.send(json.dumps({"type": "subscribe", "access_token": tokens["parent"]}))
                    assert json.loads(manager.recv(timeout=30))["type"] == "ready"
                    assert json.loads(parent.recv(timeout=30))["type"] == "ready"
                    van = _alert(world.v2, world.fleet_a, COOLANT_HIGH, "critical")
                    t0 = time.monotonic()
                    _publish_alerts(alerts, van)
                    got = json.loads(manager.recv(timeout=1.0))
                    assert time.monotonic() - t0 < 1.0 and got["alert"]["alert_id"] == van.alert_id
                    car = _alert(world.v1, world.fleet_a, REFUEL, "info")
                    _publish_alerts(alerts, car)
                    assert json.loads(parent.recv(timeout=1.0))["alert"]["alert_id"] == car.alert_id  # never the van's
            finally:
                proc.terminate()
                proc.wait(timeout=20)
