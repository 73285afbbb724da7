"""Dead-letter envelopes, MQTT URLs and the InfluxDB sink's retry policy (pure parts)."""

from __future__ import annotations

import base64
import json

import pytest
from influxdb_client.rest import ApiException
from urllib3.exceptions import NewConnectionError

from contracts.deadletter import DeadLetter
from sinks.influxdb import backoff_delays, is_retryable
from sources.mqtt_client import MqttConnection


def test_deadletter_keeps_text_payload() -> None:
    d = json.loads(DeadLetter("lat: too big", "fleet/v1/telemetry", b'{"lat": 99}', 1764064800123).to_json())
    assert d == {"reason": "lat: too big", "source_topic": "fleet/v1/telemetry", "payload": '{"lat": 99}',
                 "payload_encoding": "utf-8", "payload_bytes": 11,
                 "payload_sha256": "d047344e31110df8732d119265338d836d90f1457fb6dc0106edaba9d0b0bc25",
                 "payload_truncated": False, "received_at": "2025-11-25T10:00:00.123Z"}


def test_deadletter_base64_for_binary() -> None:
    d = json.loads(DeadLetter("payload is not UTF-8", "t", b"\xff\x00", 0).to_json())
    assert d["payload_encoding"] == "base64" and base64.b64decode(d["payload"]) == b"\xff\x00"


def test_mqtt_urls() -> None:
    c = MqttConnection.from_url("mqtts://dev%40x:p%3Ass@broker:8884")
    assert (c.host, c.port, c.username, c.password, c.tls) == ("broker", 8884, "dev@x", "p:ss", True)
    assert MqttConnection.from_url("mqtt://127.0.0.1").port == 1883
    with pytest.raises(ValueError, match="MQTT_URL"):
        MqttConnection.from_url("http://x")


def test_influx_retry_policy() -> None:
    assert is_retryable(ApiException(status=503))
    assert is_retryable(ApiException(status=429))
    assert not is_retryable(ApiException(status=400))
    assert is_retryable(NewConnectionError(None, "refused"))
    assert not is_retryable(ValueError("bad point"))
    delay = backoff_delays(0.5, 15.0)
    assert [delay(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0]


def test_bad_setting_names_variable_and_source(monkeypatch, tmp_path) -> None:
    from settings.errors import ConfigError, load_settings
    from settings.flows import IngestSettings
    from settings.stack import StackSettings

    monkeypatch.setenv("INGEST_QUEUE_SIZE", "lots")
    with pytest.raises(ConfigError, match=r"INGEST_QUEUE_SIZE \(from the environment\): Input should be a valid integer"):
        load_settings(IngestSettings)
    env_file = tmp_path / "stack.env"
    env_file.write_text("KAFKA_SASL_MECHANISM=\nINFLUX_BUCKET_FLEET=\nINFLUX_URL=\n")
    monkeypatch.setenv("MQTT_URL", "mqtt://x:1")
    assert load_settings(StackSettings, env_file).mqtt_url == "mqtt://x:1"
