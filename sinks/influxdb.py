"""Bytewax output to InfluxDB 2.x, batched, that waits out an outage and never stops on bad points.

Each worker writes the batch Bytewax hands it (Kafka input already arrives in batches of up
to a thousand) in chunks of ``chunk_size`` points, synchronously: when ``write_batch``
returns, InfluxDB has the points. Items are ``influxdb_client.Point`` or one line of line
protocol (``str``, as the points topics carry it and the fleet store builds its telemetry),
all with millisecond timestamps. Each item becomes its line once per batch; a chunk is one
request body (the lines joined), re-joined only for the halves of a refused chunk. ``gzip``
compresses the bodies (off: on this machine InfluxDB is on loopback, where compressing costs
the store CPU and saves nothing - bench/README.md; for a remote InfluxDB over a slow link).

- Outage or overload (connection error, timeout, 5xx, 429): the chunk is retried with
  exponential backoff for as long as it takes (or ``max_outage_s`` if set), logging every
  retry; meanwhile the dataflow waits, so memory stays bounded and nothing is dropped.
- Not allowed (401, 403: a wrong token; 404: no such bucket): waited out like an outage,
  logged as an error at every retry - it is the deployment that is wrong, not the points.
- Refusal (other 4xx - 400, 413, 422: a point outside the retention period, a field type
  conflict, bad line protocol - or a point that cannot be serialized or has no fields): the chunk is bisected
  until the refused points are found; the rest is written, and each refused point becomes a
  dead letter (InfluxDB's message as the reason, the line protocol as the payload, source
  ``influxdb:<bucket>``) on ``deadletter_topic``, delivered before ``write_batch`` returns,
  or a logged error when none is configured. A refusal never raises.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import cast

import structlog
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from contracts.deadletter import DeadLetter
from settings import metrics
from sinks.kafka import KafkaRecord, ReliableProducer

log = structlog.get_logger(__name__)

Lines = tuple[str, ...]  # lines already built, as one item: a store flow's whole source batch
Item = Point | str | Lines
# Answers about the deployment (token, bucket), not about the points: wait, do not dead-letter.
WAIT_STATUSES = frozenset({401, 403, 404, 408, 429})


def is_retryable(exc: Exception) -> bool:
    """Outages and overload are worth waiting for; malformed data is not."""
    if isinstance(exc, ApiException):
        return exc.status is None or exc.status == 429 or exc.status >= 500
    return isinstance(exc, (Urllib3Error, ConnectionError, TimeoutError, OSError))


def is_refusal(exc: Exception) -> bool:
    """InfluxDB (or the client, serializing) will not take these points, however often they are sent."""
    if isinstance(exc, ApiException):
        return exc.status is not None and 400 <= exc.status < 500 and exc.status not in WAIT_STATUSES
    return not is_retryable(exc)


def backoff_delays(first_s: float, max_s: float) -> Callable[[int], float]:
    """Delay before attempt n (1-based): doubles from ``first_s`` up to ``max_s``."""
    return lambda attempt: min(max_s, first_s * (2 ** (attempt - 1)))


def refusal_reason(exc: Exception) -> str:
    """``influxdb <status>: <message>`` - InfluxDB's own message from its JSON body - for a refused
    write; the exception itself for a point the client could not serialize."""
    status = getattr(exc, "status", None)
    if status is None:
        return f"not written: {type(exc).__name__}: {exc}"[:500]
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    message = body or str(exc)
    try:
        doc = json.loads(message)
        if isinstance(doc, dict) and isinstance(doc.get("message"), str):
            message = doc["message"]
    except ValueError:
        pass
    return f"influxdb {status}: {message}"[:500]


def find_refused(items: Sequence[Item], write: Callable[[Sequence[Item]], None],
                 refused: Callable[[Exception], bool]) -> list[tuple[Item, str]]:
    """Write ``items``; where the server refuses a chunk, bisect it until each refused item is
    found. Returns the refused items with the reason; everything else was written. Exceptions
    that are not refusals (outages) propagate to the caller, which retries."""
    if not items:
        return []
    try:
        write(items)
        return []
    except Exception as exc:  # noqa: BLE001 - classified just below
        if not refused(exc):
            raise
        if len(items) == 1:
            return [(items[0], refusal_reason(exc))]
    mid = len(items) // 2
    return find_refused(items[:mid], write, refused) + find_refused(items[mid:], write, refused)


def line_of(item: Item) -> str:
    if isinstance(item, tuple):
        return "\n".join(item)
    return item if isinstance(item, str) else item.to_line_protocol(WritePrecision.MS)


def lines_of(items: Sequence[Item]) -> tuple[list[str], list[tuple[Item, str]]]:
    """Each item's line, once; the items that have none (a point the client cannot serialize, or
    without fields) apart, with the reason, for the dead letters."""
    lines: list[str] = []
    unwritable: list[tuple[Item, str]] = []
    for item in items:
        if isinstance(item, tuple):  # built by the flow, each with fields: no check per line
            lines += item
            continue
        try:
            line = line_of(item)
        except Exception as exc:  # noqa: BLE001 - the point cannot be serialized: a refusal, never a stopped flow
            unwritable.append((item, refusal_reason(exc)))
            continue
        if line:
            lines.append(line)
        else:
            unwritable.append((item, "not written: the point has no fields"))
    return lines, unwritable


def _line_bytes(item: Item) -> bytes:
    """The dead letter's payload: the line protocol, or what can be said of a point that has none."""
    try:
        return line_of(item).encode("utf-8", "backslashreplace")
    except Exception as exc:  # noqa: BLE001 - the point could not be serialized: that is why it is here
        return f"{item!r} ({type(exc).__name__}: {exc})".encode("utf-8", "backslashreplace")


class _InfluxSinkPartition(StatelessSinkPartition[Item]):
    def __init__(self, client: InfluxDBClient, bucket: str, org: str, chunk_size: int, max_outage_s: float | None,
                 dead_letters: ReliableProducer | None, deadletter_topic: str | None) -> None:
        self._client = client
        self._write = client.write_api(write_options=SYNCHRONOUS)
        self._bucket = bucket
        self._org = org
        self._chunk_size = chunk_size
        self._max_outage_s = max_outage_s
        self._delay = backoff_delays(0.5, 30.0)
        self._dead_letters = dead_letters
        self._deadletter_topic = deadletter_topic

    def _send(self, lines: Sequence[Item]) -> None:
        body = "\n".join(cast("Sequence[str]", lines)).encode("utf-8")  # the partition writes only lines (lines_of)
        # influxdb-client annotates write_precision as its WritePrecision class, whose members are plain str
        self._write.write(self._bucket, self._org, body, write_precision=WritePrecision.MS)  # type: ignore[arg-type]

    def _write_chunk(self, points: Sequence[Item]) -> None:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                rejected = find_refused(points, self._send, is_refusal)
                metrics.count_written(f"influxdb:{self._bucket}", len(points) - len(rejected), time.monotonic() - started)
                if attempt > 1:
                    log.info("influx_write_recovered", bucket=self._bucket, attempts=attempt,
                             outage_s=round(time.monotonic() - started, 1))
                self._dead_letter(rejected)
                return
            except Exception as exc:  # noqa: BLE001 - only outages reach here (find_refused keeps refusals)
                waited = time.monotonic() - started
                if self._max_outage_s is not None and waited > self._max_outage_s:
                    raise RuntimeError(f"InfluxDB unreachable for {waited:.0f}s, giving up: {exc}") from exc
                delay = self._delay(attempt)
                metrics.count_retry("influxdb")
                status = getattr(exc, "status", None)
                (log.error if status in (401, 403, 404) else log.warning)(
                    "influx_write_retry", bucket=self._bucket, attempt=attempt, points=len(points), status=status,
                    waited_s=round(waited, 1), retry_in_s=delay, error=str(exc)[:200])
                time.sleep(delay)

    def _dead_letter(self, rejected: list[tuple[Item, str]]) -> None:
        if not rejected:
            return
        log.error("influx_points_refused", bucket=self._bucket, points=len(rejected), first_reason=rejected[0][1],
                  deadletter_topic=self._deadletter_topic)
        if self._dead_letters is None:  # no dead-letter topic: the log is all that is left of them
            for item, reason in rejected:
                log.error("influx_point_dropped", bucket=self._bucket, reason=reason, line=_line_bytes(item)[:1024].decode(
                    "utf-8", "replace"))
            return
        assert self._deadletter_topic is not None
        now_ms = int(time.time() * 1000)
        source = f"influxdb:{self._bucket}"
        records = []
        for item, reason in rejected:
            letter = DeadLetter(reason, source, _line_bytes(item), now_ms)
            records.append((KafkaRecord(source.encode(), letter.to_json()), self._deadletter_topic))
        self._dead_letters.deliver(records)  # returns when Kafka has every one

    def write_batch(self, items: list[Item]) -> None:
        lines, unwritable = lines_of(items)
        self._dead_letter(unwritable)
        for start in range(0, len(lines), self._chunk_size):
            self._write_chunk(lines[start : start + self._chunk_size])

    def close(self) -> None:
        self._write.close()
        self._client.close()
        if self._dead_letters is not None:
            self._dead_letters.close(30)


class InfluxSink(DynamicSink[Item]):
    """Write points (``Point``, a line of line protocol, or a tuple of lines; millisecond precision) to one bucket."""

    def __init__(self, url: str, token: str, org: str, bucket: str, chunk_size: int = 5000,
                 max_outage_s: float | None = None, timeout_ms: int = 30_000, *,
                 kafka_config: dict[str, str] | None = None, deadletter_topic: str | None = None, gzip: bool = False) -> None:
        if deadletter_topic and kafka_config is None:
            raise ValueError("deadletter_topic needs kafka_config")
        self._url = url
        self._token = token
        self._org = org
        self._bucket = bucket
        self._chunk_size = chunk_size
        self._max_outage_s = max_outage_s
        self._timeout_ms = timeout_ms
        self._kafka_config = kafka_config
        self._deadletter_topic = deadletter_topic
        self._gzip = gzip

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _InfluxSinkPartition:
        client = InfluxDBClient(url=self._url, token=self._token, org=self._org, timeout=self._timeout_ms,
                                enable_gzip=self._gzip)
        producer = None
        if self._deadletter_topic:
            producer = ReliableProducer(self._kafka_config or {})
        return _InfluxSinkPartition(client, self._bucket, self._org, self._chunk_size, self._max_outage_s,
                                    producer, self._deadletter_topic)
