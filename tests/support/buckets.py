"""Throwaway InfluxDB buckets for tests that must own every point they read (no shared series)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from influxdb_client import BucketRetentionRules, InfluxDBClient

from settings.stack import StackSettings


@contextmanager
def temp_bucket(s: StackSettings, name: str, retention_s: int = 0) -> Iterator[str]:
    """Create bucket ``name`` (``retention_s`` 0 = no retention) in the stack's org; delete it afterwards."""
    rules = [BucketRetentionRules(type="expire", every_seconds=retention_s)] if retention_s else None
    with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=30_000) as client:
        bucket = client.buckets_api().create_bucket(bucket_name=name, org=s.influx_org, retention_rules=rules)
        try:
            yield name
        finally:
            client.buckets_api().delete_bucket(bucket)


def flow_env_for_bucket(s: StackSettings, bucket: str) -> dict[str, str]:
    """Environment that points a flow's crypto writer at ``bucket`` (the operator token may write anywhere)."""
    return {"INFLUX_BUCKET_CRYPTO": bucket, "INFLUX_WRITE_TOKEN": s.influx_token}
