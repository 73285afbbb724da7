"""``/v1/stream`` against the real Kafka: an alert reaches the right token within a second, never another fleet's."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from contracts.alert import COOLANT_HIGH, REFUEL, Severity, make_alert
from settings.stack import load_stack_settings
from tests.api.conftest import World, api_settings, token
from tests.support.services import kafka_topics, unique

pytestmark = pytest.mark.integration
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)


def receive(ws: WebSocketTestSession, within_s: float) -> dict[str, Any]:
    """The next message, or a failed test after ``within_s`` (the test client itself has no timeout)."""
    message: dict[str, Any] = _pool.submit(ws.receive_json).result(timeout=within_s)
    return message


@pytest.fixture(scope="module")
def stream_client(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    s = load_stack_settings()
    with kafka_topics(s, unique("api-alerts"), partitions=1) as (topic,):
        settings = api_settings(tmp_path_factory.mktemp("stream"), alerts_topic=topic)
        with TestClient(create_app(settings)) as c:
            yield c, topic


def _publish(topic: str, *alerts: Any) -> None:
    producer = Producer({**load_stack_settings().kafka_config(), "log_level": 2})
    for a in alerts:
        producer.produce(topic, key=a.vehicle_id.encode(), value=a.to_json().encode())
    assert producer.flush(10) == 0


def _alert(world: World, vehicle: str, fleet: str, kind: str, severity: Severity) -> Any:
    now = int(time.time() * 1000)
    return make_alert(vehicle_id=vehicle, fleet_id=fleet, type=kind, severity=severity, ts=now, episode_ts=now,
                      message=f"{kind} {vehicle}", value=121.0, threshold=120.0, lat=52.5, lon=13.4)


def _connect(c: TestClient, world: World, user: str) -> Any:
    ws = c.websocket_connect("/v1/stream").__enter__()
    ws.send_json({"type": "auth", "access_token": token(c, world, user)})
    ready = receive(ws, 30)
    assert ready["type"] == "ready", ready
    return ws


def test_an_alert_reaches_the_manager_within_a_second_and_the_parent_never_sees_another_vehicle(
        stream_client: tuple[TestClient, str], world: World) -> None:
    c, topic = stream_client
    manager, parent = _connect(c, world, "manager"), _connect(c, world, "parent")
    try:
        van = _alert(world, world.v2, world.fleet_a, COOLANT_HIGH, "critical")
        foreign = _alert(world, world.v3, world.fleet_b, COOLANT_HIGH, "critical")
        car = _alert(world, world.v1, world.fleet_a, REFUEL, "info")
        t0 = time.monotonic()
        _publish(topic, foreign, van)
        got = receive(manager, 1.0)  # the foreign fleet's alert came first on the partition: filtered out
        assert time.monotonic() - t0 < 1.0
        assert got == {"type": "alert", "alert": van.to_dict()}
        _publish(topic, car)
        assert receive(manager, 1.0)["alert"]["alert_id"] == car.alert_id
        # the parent's first alert is their car's: neither the van nor the other fleet's truck came before it
        assert receive(parent, 1.0)["alert"]["alert_id"] == car.alert_id
    finally:
        manager.__exit__(None, None, None)
        parent.__exit__(None, None, None)


def test_the_stream_refuses_a_missing_bad_or_unscoped_token(stream_client: tuple[TestClient, str], world: World,
                                                             tmp_path: Path) -> None:
    c, _ = stream_client
    for first, status in (({"type": "hello"}, 401), ({"type": "auth", "access_token": "forged"}, 401),
                          ({"type": "auth", "access_token": token(c, world, "trader")}, 403)):
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_json(first)
            error = receive(ws, 5)
            assert (error["type"], error["status"]) == ("error", status), error
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1008
