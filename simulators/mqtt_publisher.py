"""The MQTT session every simulator CLI publishes through (QoS 1, settings from the stack)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt

from settings.stack import load_stack_settings
from sources.mqtt_client import MqttConnection, connect_client, make_client


@contextmanager
def mqtt_publisher(client_id: str, max_queued: int = 10_000) -> Iterator[mqtt.Client]:
    """A connected client with its network loop running; a Ctrl-C inside the block ends the
    publishing quietly, and the client always disconnects."""
    conn = MqttConnection.from_url(load_stack_settings().mqtt_url)
    client = make_client(conn, client_id)
    client.max_queued_messages_set(max_queued)
    connect_client(client, conn, clean_start=True)
    client.loop_start()
    try:
        yield client
    except KeyboardInterrupt:
        pass
    finally:
        client.disconnect()
        client.loop_stop()
