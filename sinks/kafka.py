"""Bytewax output to Kafka that confirms every delivery, waits out outages and dead-letters refusals.

Bytewax's own ``KafkaSink`` has no delivery callback, so a message the broker refused is
lost without a word. This sink registers one and does not return from ``write_batch`` until
Kafka has every record of the batch (at-least-once; the dataflow waits meanwhile, so memory
stays bounded). What happens to a record whose delivery failed depends on the error:

- transient (broker down, timeouts - ``message.timeout.ms`` included -, leader changes, any
  error not listed below): produced again with a growing pause (0.5 s doubling to 30 s),
  logged at every retry, for as long as it takes. Nothing is dropped.
- fatal for the producer (``KafkaError.fatal()``, e.g. an idempotence sequence broken): the
  producer is replaced and the undelivered records are produced again.
- refused for good (``REFUSED_CODES``: too large, invalid record, unknown topic or partition,
  not authorized, policy): first produced again alone, since Kafka refuses a whole batch for
  one record (a batch over ``max.message.bytes``); refused alone, it goes to
  ``deadletter_topic`` as a dead letter (contracts/deadletter.py) with Kafka's reason, keyed
  as the original (refused for its size: only the payload's first KiB, with its length and
  SHA-256). Without a ``deadletter_topic`` the sink raises ``KafkaDeliveryError``, so
  the flow stops loudly instead of dropping data.

Producer settings pass through unchanged over ``DEFAULT_PRODUCER_CONFIG`` (``sinks.kafka_producer.make_producer``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from confluent_kafka import KafkaError, KafkaException, Producer

from contracts.deadletter import MAX_KEPT_PAYLOAD_BYTES, TRUNCATED_PREFIX_BYTES, DeadLetter
from settings import metrics
from sinks.kafka_producer import DEFAULT_PRODUCER_CONFIG, make_producer

log = structlog.get_logger(__name__)

# Kafka will not take the record as it is, however often it is sent.
REFUSED_CODES = frozenset({
    KafkaError.MSG_SIZE_TOO_LARGE,
    KafkaError.RECORD_LIST_TOO_LARGE,
    KafkaError.INVALID_RECORD,
    KafkaError.INVALID_MSG,
    KafkaError.INVALID_MSG_SIZE,
    KafkaError.INVALID_TIMESTAMP,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError.TOPIC_EXCEPTION,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.POLICY_VIOLATION,
    KafkaError.UNSUPPORTED_FOR_MESSAGE_FORMAT,
})
# Refused for its size: its dead letter keeps only the payload's first KiB (the dead-letter topic
# may well have the same limit).
SIZE_CODES = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE, KafkaError.INVALID_MSG_SIZE})
WAIT_LOG_INTERVAL_S = 10.0


@dataclass(frozen=True)
class KafkaRecord:
    """One record to produce. ``topic`` None = the sink's default topic."""

    key: bytes | None
    value: bytes | None
    topic: str | None = None
    headers: list[tuple[str, str | bytes | None]] = field(default_factory=list)
    timestamp_ms: int | None = None


class KafkaDeliveryError(RuntimeError):
    """Kafka refused a record for good and there is no dead-letter topic to put it on."""


def error_kind(err: KafkaError) -> str:
    """``"fatal"`` (replace the producer), ``"refused"`` (dead letter) or ``"transient"`` (retry)."""
    if err.fatal():
        return "fatal"
    if err.code() in REFUSED_CODES:
        return "refused"
    return "transient"


def backoff_s(attempt: int, first_s: float = 0.5, max_s: float = 30.0) -> float:
    """Pause before retry ``attempt`` (1-based): doubles from ``first_s`` up to ``max_s``."""
    return min(max_s, first_s * 2.0 ** (attempt - 1))


@dataclass
class _Pending:
    rec: KafkaRecord
    topic: str
    alone: bool = False  # sent in a round of its own: a refusal is this record's, not its batch's
    is_deadletter: bool = False
    result: KafkaError | None | bool = False  # False = no delivery report yet


def _reason(err: KafkaError, topic: str) -> str:
    return f"kafka refused the record for {topic}: {err.name()}: {err.str()}"


class ReliableProducer:
    """A librdkafka producer whose ``deliver`` returns only when every record is in Kafka
    (or, refused for good, on the dead-letter topic). Shared by the Kafka and InfluxDB sinks."""

    def __init__(self, config: dict[str, str], deadletter_topic: str | None = None, *,
                 wait_log_interval_s: float = WAIT_LOG_INTERVAL_S, sleep: Callable[[float], None] = time.sleep,
                 producer_factory: Callable[[dict[str, str]], Producer] = make_producer) -> None:
        self._config = config
        self._deadletter_topic = deadletter_topic
        self._wait_log_interval_s = wait_log_interval_s
        self._sleep = sleep
        self._factory = producer_factory
        self._producer = producer_factory(config)
        self._in_flight: list[_Pending] = []

    def deliver(self, records: list[tuple[KafkaRecord, str]]) -> None:
        """Produce each (record, topic) and wait for all of them; see the module doc for errors."""
        self.send(records)
        self.settle()

    def send(self, records: list[tuple[KafkaRecord, str]]) -> None:
        """Produce each (record, topic) without waiting for its delivery report: ``settle`` waits
        for them (and handles failures as ``deliver`` does). Librdkafka sends them meanwhile."""
        by_topic: dict[str, list[bytes | None]] = {}
        for rec, topic in records:
            p = _Pending(rec, topic)
            self._produce(p)
            self._in_flight.append(p)
            by_topic.setdefault(topic, []).append(rec.value)
        self._producer.poll(0)
        for topic, values in by_topic.items():
            metrics.count_produced(topic, values)

    @property
    def in_flight(self) -> int:
        """Records sent and not yet settled."""
        return len(self._in_flight)

    def settle(self) -> None:
        """Return only when every record sent so far is in Kafka (or, refused for good, on the
        dead-letter topic): failed ones are produced again, or dead-lettered, as the module doc says."""
        pending, self._in_flight = self._in_flight, []
        self._wait(pending)
        attempt = 0
        while True:
            retry: list[_Pending] = []
            refused: list[_Pending] = []
            fatal = False
            for p in pending:
                err = p.result
                if err is None:
                    continue
                assert isinstance(err, KafkaError)
                kind = error_kind(err)
                if kind == "refused" and not p.alone:
                    retry.append(_Pending(p.rec, p.topic, alone=True, is_deadletter=p.is_deadletter))
                elif kind == "refused":
                    refused.append(p)
                else:
                    fatal = fatal or kind == "fatal"
                    retry.append(_Pending(p.rec, p.topic, alone=p.alone, is_deadletter=p.is_deadletter))
            for p in refused:
                assert isinstance(p.result, KafkaError)
                retry.append(self._dead_letter_of(p, p.result))
            if fatal:
                log.error("kafka_producer_fatal", error=next(str(p.result) for p in pending
                                                             if isinstance(p.result, KafkaError) and p.result.fatal()))
                self._replace_producer()
            transient = [p for p in pending if isinstance(p.result, KafkaError) and error_kind(p.result) != "refused"]
            if transient:
                attempt += 1
                delay = backoff_s(attempt)
                metrics.count_retry("kafka", len(transient))
                first = transient[0].result
                log.warning("kafka_delivery_retry", records=len(transient), attempt=attempt, retry_in_s=delay,
                            topic=transient[0].topic, error=str(first), retriable=first.retriable())  # type: ignore[union-attr]
                self._sleep(delay)
            pending = retry
            if not pending:
                return
            lonely = [p for p in pending if p.alone]
            for p in lonely:  # one at a time, each in a batch of its own
                self._round([p])
            crowd = [p for p in pending if not p.alone]
            if crowd:
                self._round(crowd)

    def _dead_letter_of(self, p: _Pending, err: KafkaError) -> _Pending:
        if p.is_deadletter or self._deadletter_topic is None:
            what = "dead letter" if p.is_deadletter else "record"
            raise KafkaDeliveryError(f"Kafka refused a {what} for {p.topic}: {err.name()}: {err.str()}")
        reason = _reason(err, p.topic)
        log.error("kafka_record_refused", topic=p.topic, deadletter_topic=self._deadletter_topic, reason=reason,
                  value_bytes=len(p.rec.value or b""))
        kept = TRUNCATED_PREFIX_BYTES if err.code() in SIZE_CODES else MAX_KEPT_PAYLOAD_BYTES
        letter = DeadLetter(reason, f"kafka:{p.topic}", p.rec.value or b"", int(time.time() * 1000), kept)
        rec = KafkaRecord(p.rec.key if p.rec.key is not None else p.topic.encode(), letter.to_json())
        return _Pending(rec, self._deadletter_topic, is_deadletter=True)

    def _produce(self, p: _Pending) -> None:
        def on_delivery(err: KafkaError | None, _msg: object, p: _Pending = p) -> None:
            p.result = err

        rec = p.rec
        timestamp = rec.timestamp_ms if rec.timestamp_ms is not None else 0  # 0: librdkafka stamps the send time
        while True:
            try:
                self._producer.produce(p.topic, rec.value, rec.key, headers=rec.headers or None,
                                       on_delivery=on_delivery, timestamp=timestamp)
                return
            except BufferError:
                self._producer.poll(0.1)  # local queue full: let librdkafka send, then try again
            except KafkaException as exc:  # refused before sending (e.g. over the producer's message.max.bytes)
                p.result = exc.args[0]
                return

    def _round(self, batch: list[_Pending]) -> None:
        """Produce ``batch`` and wait, however long, until each record has its delivery report."""
        for p in batch:
            p.result = False
            self._produce(p)
            self._producer.poll(0)
        self._wait(batch)

    def _wait(self, batch: list[_Pending]) -> None:
        """Wait, however long, until each record of ``batch`` (produced) has its delivery report."""
        if not batch:
            return
        started = time.monotonic()
        while True:
            remaining = self._producer.flush(self._wait_log_interval_s)
            if all(p.result is not False for p in batch):
                return
            if remaining == 0:  # queue empty but a report not served yet
                self._producer.poll(0.1)
                continue
            log.warning("kafka_delivery_waiting", queued=remaining, waited_s=round(time.monotonic() - started, 1),
                        topic=batch[0].topic, records=sum(1 for p in batch if p.result is False))

    def _replace_producer(self) -> None:
        try:
            self._producer.flush(0)
        except KafkaException:
            pass
        self._producer = self._factory(self._config)

    def close(self, timeout_s: float) -> None:
        self._producer.flush(timeout_s)


def with_topics(items: list[KafkaRecord], default_topic: str | None) -> list[tuple[KafkaRecord, str]]:
    """Each record with the topic it goes to: its own, else ``default_topic``; raises when neither is set."""
    records = []
    for rec in items:
        topic = rec.topic or default_topic
        if topic is None:
            raise ValueError(f"no topic for record with key {rec.key!r} and no default topic")
        records.append((rec, topic))
    return records


class _KafkaSinkPartition(StatelessSinkPartition[KafkaRecord]):
    def __init__(self, producer: ReliableProducer, default_topic: str | None, flush_timeout_s: float) -> None:
        self._producer = producer
        self._default_topic = default_topic
        self._flush_timeout_s = flush_timeout_s

    def write_batch(self, items: list[KafkaRecord]) -> None:
        self._producer.deliver(with_topics(items, self._default_topic))

    def close(self) -> None:
        self._producer.close(self._flush_timeout_s)


class KafkaProducerSink(DynamicSink[KafkaRecord]):
    """Produce ``KafkaRecord`` items; every worker has its own producer.

    ``flush_timeout_s`` is how long ``close`` waits for the last deliveries; ``write_batch``
    waits as long as Kafka needs, logging every ``WAIT_LOG_INTERVAL_S``. ``deadletter_topic``:
    where records Kafka refuses for good go (None = raise ``KafkaDeliveryError``)."""

    def __init__(self, config: dict[str, str], default_topic: str | None = None, flush_timeout_s: float = 60.0, *,
                 deadletter_topic: str | None = None) -> None:
        self._config = {**DEFAULT_PRODUCER_CONFIG, **config}
        self._default_topic = default_topic
        self._flush_timeout_s = flush_timeout_s
        self._deadletter_topic = deadletter_topic

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _KafkaSinkPartition:
        producer = ReliableProducer(self._config, self._deadletter_topic)
        return _KafkaSinkPartition(producer, self._default_topic, self._flush_timeout_s)
