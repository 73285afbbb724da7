"""The InfluxDB client of the operator commands (operator token: they read, write and manage buckets)."""

from __future__ import annotations

from influxdb_client import InfluxDBClient

from settings.stack import StackSettings, load_stack_settings


def operator_client(stack: StackSettings | None = None, timeout_ms: int = 120_000) -> InfluxDBClient:
    """A client with the operator token of ``var/stack.env`` / the environment."""
    s = stack or load_stack_settings()
    if not s.influx_token:
        raise SystemExit("no INFLUX_TOKEN: run services/stack.sh up (it writes var/stack.env) or set INFLUX_TOKEN")
    return InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=timeout_ms)
