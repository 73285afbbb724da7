"""Throwaway InfluxDB buckets for tests that must own every point they read (no shared series)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from influxdb_client import InfluxDBClient

from settings.stack import StackSettings


@contextmanager
def temp_bucket(s: StackSettings, name: str) -> Iterator[str]:
    """Create bucket ``name`` (no retention) in the stack's org; delete it afterwards."""
    with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=30_000) as client:
        bucket = client.buckets_api().create_bucket(bucket_name=name, org=s.influx_org)
        try:
            yield name
        finally:
            client.buckets_api().delete_bucket(bucket)


def flow_env_for_bucket(s: StackSettings, bucket: str) -> dict[str, str]:
    """Environment that points a flow's crypto writer at ``bucket`` (the operator token may write anywhere)."""
    return {"INFLUX_BUCKET_CRYPTO": bucket, "INFLUX_WRITE_TOKEN": s.influx_token}
