"""The one Kafka producer factory, and a ``produce(topic, key, value)`` with delivery accounting.

``make_producer`` is how every part of ticktrack gets a librdkafka producer: the stack's
connection settings over ``DEFAULT_PRODUCER_CONFIG`` (acks from every replica, idempotent, lz4),
then what the caller overrides. ``KafkaProduce`` (collector, market simulator) counts and logs
delivery errors from the delivery callback (never silently dropped); ``flush()`` must be called
at the end of a run. The Bytewax sinks deliver through ``sinks.kafka.ReliableProducer``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from confluent_kafka import KafkaError, Message, Producer

from settings.stack import load_stack_settings

log = structlog.get_logger(__name__)

DEFAULT_PRODUCER_CONFIG: dict[str, str] = {
    "acks": "all",
    "enable.idempotence": "true",
    "linger.ms": "5",
    "compression.type": "lz4",
    "log_level": "3",
}


def make_producer(kafka_config: dict[str, str], **overrides: Any) -> Producer:
    """A producer: ``DEFAULT_PRODUCER_CONFIG``, then ``kafka_config`` (connection, and what it sets), then ``overrides``."""
    return Producer({**DEFAULT_PRODUCER_CONFIG, **kafka_config, **overrides})


@dataclass
class KafkaProduce:
    """Callable producer with delivery accounting (``make_producer``; 20 ms linger: quotes come in bursts)."""

    producer: Producer
    delivered: int = 0
    failed: int = 0
    last_error: str | None = field(default=None)

    @classmethod
    def from_stack(cls, **overrides: Any) -> KafkaProduce:
        return cls(make_producer(load_stack_settings().kafka_config(), **{"linger.ms": 20, **overrides}))

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.delivered += 1
            return
        self.failed += 1
        self.last_error = str(err)
        log.error("kafka delivery failed", topic=msg.topic(), error=str(err))

    def __call__(self, topic: str, key: str, value: bytes) -> None:
        while True:
            try:
                self.producer.produce(topic, key=key.encode(), value=value, on_delivery=self._on_delivery)
                break
            except BufferError:  # local queue full: serve callbacks, then retry (backpressure)
                self.producer.poll(0.1)
        self.producer.poll(0)

    def failure(self) -> str | None:
        """The first delivery error, after serving pending delivery reports; None while all went through.

        The collector stops on it: a quote that Kafka did not take is lost, and a collector that
        keeps polling exchanges meanwhile only hides that from its operator."""
        self.producer.poll(0)
        return self.last_error if self.failed else None

    def flush(self, timeout_s: float = 30.0) -> int:
        """Wait for outstanding messages; returns how many are still undelivered."""
        return self.producer.flush(timeout_s)
