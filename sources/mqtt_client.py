"""MQTT connection settings and a configured paho MQTT 5 client, without Bytewax.

The Bytewax source (``sources/mqtt.py``), the simulators and the tests connect through these,
so credentials, TLS and the reconnect backoff are set in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass(frozen=True)
class MqttConnection:
    """Where and how to connect; built from an ``mqtt://`` or ``mqtts://`` URL."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None

    @classmethod
    def from_url(cls, url: str, ca_file: str | None = None) -> MqttConnection:
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"MQTT_URL must start with mqtt:// or mqtts://, got {url!r}")
        tls = parsed.scheme in ("mqtts", "ssl")
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (8883 if tls else 1883),
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            tls=tls,
            ca_file=ca_file,
        )


def make_client(conn: MqttConnection, client_id: str, *, manual_ack: bool = False) -> mqtt.Client:
    """A paho MQTT 5 client with credentials, TLS and reconnect backoff set."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=manual_ack
    )
    if conn.username:
        client.username_pw_set(conn.username, conn.password)
    if conn.tls:
        client.tls_set(ca_certs=conn.ca_file)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def connect_client(
    client: mqtt.Client, conn: MqttConnection, *, clean_start: bool, session_expiry_s: int = 0, receive_maximum: int | None = None
) -> None:
    """Connect (non-blocking reconnects afterwards are paho's, with the backoff set above)."""
    props = Properties(PacketTypes.CONNECT)
    if session_expiry_s:
        props.SessionExpiryInterval = session_expiry_s
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    client.connect(conn.host, conn.port, keepalive=30, clean_start=clean_start, properties=props)
