"""Bytewax output to InfluxDB 2.x, batched, that waits out an outage instead of losing data.

Each worker writes the batch Bytewax hands it (Kafka input already arrives in batches of up
to a thousand) in chunks of ``chunk_size`` points, synchronously: when ``write_batch``
returns, InfluxDB has the points. When InfluxDB is down or overloaded (connection error,
5xx, 429) the write is retried with exponential backoff, logging the outage, for as long as
``max_outage_s`` allows; meanwhile the dataflow waits, so memory stays bounded and nothing
is dropped. A 4xx answer means a bug in the points: it is raised at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import structlog
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

log = structlog.get_logger(__name__)


def is_retryable(exc: Exception) -> bool:
    """Outages and overload are worth waiting for; malformed data is not."""
    if isinstance(exc, ApiException):
        return exc.status is None or exc.status == 429 or exc.status >= 500
    return isinstance(exc, (Urllib3Error, ConnectionError, TimeoutError, OSError))


def backoff_delays(first_s: float, max_s: float) -> "Callable[[int], float]":
    """Delay before attempt n (1-based): doubles from ``first_s`` up to ``max_s``."""
    return lambda attempt: min(max_s, first_s * (2 ** (attempt - 1)))


class _InfluxSinkPartition(StatelessSinkPartition[Point]):
    def __init__(self, client: InfluxDBClient, bucket: str, org: str, chunk_size: int, max_outage_s: float) -> None:
        self._client = client
        self._write = client.write_api(write_options=SYNCHRONOUS)
        self._bucket = bucket
        self._org = org
        self._chunk_size = chunk_size
        self._max_outage_s = max_outage_s
        self._delay = backoff_delays(0.5, 15.0)

    def _write_chunk(self, points: Sequence[Point]) -> None:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                self._write.write(self._bucket, self._org, list(points), write_precision=WritePrecision.MS)
                if attempt > 1:
                    log.info("influx_write_recovered", bucket=self._bucket, attempts=attempt,
                             outage_s=round(time.monotonic() - started, 1))
                return
            except Exception as exc:  # noqa: BLE001 - classified just below
                if not is_retryable(exc):
                    raise
                waited = time.monotonic() - started
                if waited > self._max_outage_s:
                    raise RuntimeError(f"InfluxDB unreachable for {waited:.0f}s, giving up: {exc}") from exc
                delay = self._delay(attempt)
                log.warning("influx_write_retry", bucket=self._bucket, attempt=attempt, points=len(points),
                            retry_in_s=delay, error=str(exc)[:200])
                time.sleep(delay)

    def write_batch(self, items: list[Point]) -> None:
        for start in range(0, len(items), self._chunk_size):
            self._write_chunk(items[start : start + self._chunk_size])

    def close(self) -> None:
        self._write.close()
        self._client.close()


class InfluxSink(DynamicSink[Point]):
    """Write ``influxdb_client.Point`` items (millisecond precision) to one bucket."""

    def __init__(self, url: str, token: str, org: str, bucket: str, chunk_size: int = 5000, max_outage_s: float = 3600.0, timeout_ms: int = 30_000) -> None:
        self._url = url
        self._token = token
        self._org = org
        self._bucket = bucket
        self._chunk_size = chunk_size
        self._max_outage_s = max_outage_s
        self._timeout_ms = timeout_ms

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _InfluxSinkPartition:
        client = InfluxDBClient(url=self._url, token=self._token, org=self._org, timeout=self._timeout_ms)
        return _InfluxSinkPartition(client, self._bucket, self._org, self._chunk_size, self._max_outage_s)
