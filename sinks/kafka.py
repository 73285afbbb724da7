"""Bytewax output to Kafka that notices failed deliveries.

Bytewax's own ``KafkaSink`` has no delivery callback, so a message the broker refused is
lost without a word. This sink registers one, flushes after every batch (the dataflow does
not move on until Kafka has the batch: at-least-once), and raises when any delivery failed,
so the flow dies loudly instead of dropping data. Producer settings pass through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from confluent_kafka import KafkaError, Message, Producer

log = structlog.get_logger(__name__)

DEFAULT_PRODUCER_CONFIG = {
    "acks": "all",
    "enable.idempotence": "true",
    "linger.ms": "5",
    "compression.type": "lz4",
    "log_level": "3",
}


@dataclass(frozen=True)
class KafkaRecord:
    """One record to produce. ``topic`` None = the sink's default topic."""

    key: bytes | None
    value: bytes | None
    topic: str | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp_ms: int | None = None


class KafkaDeliveryError(RuntimeError):
    """Kafka refused or timed out on at least one record of a batch."""


class _KafkaSinkPartition(StatelessSinkPartition[KafkaRecord]):
    def __init__(self, producer: Producer, default_topic: str | None, flush_timeout_s: float) -> None:
        self._producer = producer
        self._default_topic = default_topic
        self._flush_timeout_s = flush_timeout_s
        self._errors: list[str] = []

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._errors.append(f"{msg.topic()}: {err.str()}")

    def write_batch(self, items: list[KafkaRecord]) -> None:
        for rec in items:
            topic = rec.topic or self._default_topic
            if topic is None:
                raise ValueError(f"no topic for record with key {rec.key!r} and no default topic")
            kwargs = {"timestamp": rec.timestamp_ms} if rec.timestamp_ms is not None else {}
            while True:
                try:
                    self._producer.produce(topic, rec.value, rec.key, headers=rec.headers or None,
                                           on_delivery=self._on_delivery, **kwargs)
                    break
                except BufferError:
                    # Local queue full: let librdkafka send, then try again.
                    self._producer.poll(0.1)
            self._producer.poll(0)
        remaining = self._producer.flush(self._flush_timeout_s)
        if remaining:
            raise KafkaDeliveryError(f"{remaining} record(s) not delivered within {self._flush_timeout_s}s")
        if self._errors:
            errors, self._errors = self._errors, []
            raise KafkaDeliveryError(f"{len(errors)} record(s) refused by Kafka, first: {errors[0]}")

    def close(self) -> None:
        self._producer.flush(self._flush_timeout_s)


class KafkaProducerSink(DynamicSink[KafkaRecord]):
    """Produce ``KafkaRecord`` items; every worker has its own producer."""

    def __init__(self, config: dict[str, str], default_topic: str | None = None, flush_timeout_s: float = 60.0) -> None:
        self._config = {**DEFAULT_PRODUCER_CONFIG, **config}
        self._default_topic = default_topic
        self._flush_timeout_s = flush_timeout_s

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _KafkaSinkPartition:
        return _KafkaSinkPartition(Producer(self._config), self._default_topic, self._flush_timeout_s)
