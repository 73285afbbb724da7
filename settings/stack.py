"""Connection settings of the services every command talks to.

Read from the environment first, then from ``var/stack.env`` (written by
``services/stack.sh up``), so one ``up`` is all a user needs. Defaults match the
local stack's ports; the file can be moved with ``TICKTRACK_STACK_ENV``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings.errors import load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STACK_ENV = REPO_ROOT / "var" / "stack.env"


def stack_env_path() -> Path:
    """Where the connection settings written by ``stack.sh up`` live."""
    return Path(os.environ.get("TICKTRACK_STACK_ENV", DEFAULT_STACK_ENV))


class StackSettings(BaseSettings):
    """Where MQTT, Kafka and InfluxDB answer, and how to authenticate."""

    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8")

    mqtt_url: str = Field("mqtt://127.0.0.1:1883", description="MQTT broker, mqtt:// or mqtts://; user:password@ allowed")
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma separated")
    kafka_security_protocol: str = Field("PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    kafka_sasl_mechanism: str | None = Field(None, description="e.g. PLAIN or SCRAM-SHA-256, with SASL_*")
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = Field(None, repr=False)
    kafka_ssl_ca_location: str | None = None
    influx_url: str = Field("http://127.0.0.1:8086", description="InfluxDB 2.x base URL")
    influx_org: str = Field("ticktrack", description="InfluxDB organization")
    influx_token: str = Field("", repr=False, description="InfluxDB operator token (setup, backups, tests)")
    influx_write_token: str = Field("", repr=False, description="InfluxDB token of the writers (flows); falls back to influx_token")
    influx_read_token: str = Field("", repr=False, description="read-only InfluxDB token of the dashboard; falls back to influx_token")
    influx_bucket_fleet: str = Field("fleet", description="bucket of fleet time series")
    influx_bucket_crypto: str = Field("crypto", description="bucket of crypto time series")

    def writer_token(self) -> str:
        """Token the sinks write with: the least-privileged one available."""
        return self.influx_write_token or self.influx_token

    def reader_token(self, allow_operator_token: bool = False) -> str:
        """Token the dashboard reads with: the read-only one, never silently the operator's.

        Without ``INFLUX_READ_TOKEN`` this raises ``ConfigError`` naming the key, so a reader
        cannot quietly run with every right of ``INFLUX_TOKEN``; ``allow_operator_token`` (the
        dashboard's ``DASHBOARD_ALLOW_OPERATOR_TOKEN``, development only) permits that fallback.
        """
        if self.influx_read_token:
            return self.influx_read_token
        if allow_operator_token and self.influx_token:
            return self.influx_token
        from settings.errors import ConfigError

        raise ConfigError(
            "INFLUX_READ_TOKEN is not set (environment or var/stack.env): readers use a read-only InfluxDB "
            "token and do not fall back to the operator token INFLUX_TOKEN. `services/stack.sh up influxdb` "
            "creates one; for development only, DASHBOARD_ALLOW_OPERATOR_TOKEN=true permits the fallback.")

    def kafka_config(self) -> dict[str, str]:
        """librdkafka settings shared by producers, consumers and admin clients."""
        conf = {"bootstrap.servers": self.kafka_bootstrap, "security.protocol": self.kafka_security_protocol}
        if self.kafka_sasl_mechanism:
            conf["sasl.mechanism"] = self.kafka_sasl_mechanism
        if self.kafka_sasl_username:
            conf["sasl.username"] = self.kafka_sasl_username
        if self.kafka_sasl_password:
            conf["sasl.password"] = self.kafka_sasl_password
        if self.kafka_ssl_ca_location:
            conf["ssl.ca.location"] = self.kafka_ssl_ca_location
        return conf


def load_stack_settings() -> StackSettings:
    """Build the settings: environment variables win over ``var/stack.env``."""
    return load_settings(StackSettings, stack_env_path())


@lru_cache(maxsize=1)
def cached_stack_settings() -> StackSettings:
    """One settings object per process, for long-running commands."""
    return load_stack_settings()
