"""Bytewax output to Kafka that confirms deliveries at each epoch's snapshot, not after every batch.

``KafkaProducerSink`` (sinks/kafka.py) waits for the delivery reports of every batch it is
handed, so a flow with several Kafka outputs stops for a broker round trip per output per
batch. Here ``write_batch`` only produces (librdkafka sends at once, ``linger.ms`` later) and
the sink waits for every report - with the same retries, producer replacement and dead letters
(``ReliableProducer.settle``) - when Bytewax snapshots the epoch, and whenever ``max_in_flight``
records are unconfirmed. Bytewax commits an epoch's snapshot (and with it the input offsets a
restart resumes from) only after every step has snapshotted it, so no offset is committed
before the records produced from the input before it are in Kafka: at-least-once with
recovery (``-r``) exactly as with the blocking sink. Without recovery Bytewax still closes an
epoch every 10 s, which bounds how long a failure waits to be handled.

Items are ``(key, KafkaRecord)`` (``op.key_on`` any constant): the sink has one partition, so
with several workers every record is routed to the worker that holds it (one producer per
flow, none idle). Not for the ingest: its MQTT acknowledgements must wait for Kafka per batch.
"""

from __future__ import annotations

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from sinks.kafka import KafkaRecord, ReliableProducer, with_topics
from sinks.kafka_producer import DEFAULT_PRODUCER_CONFIG

PARTITION = "kafka"


class _EpochPartition(StatefulSinkPartition[KafkaRecord, None]):
    def __init__(self, producer: ReliableProducer, default_topic: str | None, max_in_flight: int,
                 flush_timeout_s: float) -> None:
        self._producer = producer
        self._default_topic = default_topic
        self._max_in_flight = max_in_flight
        self._flush_timeout_s = flush_timeout_s

    def write_batch(self, items: list[KafkaRecord]) -> None:
        self._producer.send(with_topics(items, self._default_topic))
        if self._producer.in_flight >= self._max_in_flight:
            self._producer.settle()

    def snapshot(self) -> None:
        """Every record written in this epoch is in Kafka when this returns."""
        self._producer.settle()

    def close(self) -> None:
        self._producer.settle()
        self._producer.close(self._flush_timeout_s)


class KafkaEpochSink(FixedPartitionedSink[KafkaRecord, None]):
    """Produce ``(key, KafkaRecord)`` items, delivery confirmed at each epoch's snapshot.

    ``deadletter_topic``: where records Kafka refuses for good go (None = raise
    ``KafkaDeliveryError``); ``max_in_flight``: unconfirmed records that make the sink wait early."""

    def __init__(self, config: dict[str, str], default_topic: str | None = None, flush_timeout_s: float = 60.0, *,
                 deadletter_topic: str | None = None, max_in_flight: int = 50_000) -> None:
        self._config = {**DEFAULT_PRODUCER_CONFIG, **config}
        self._default_topic = default_topic
        self._flush_timeout_s = flush_timeout_s
        self._deadletter_topic = deadletter_topic
        self._max_in_flight = max_in_flight

    def list_parts(self) -> list[str]:
        return [PARTITION]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _EpochPartition:
        producer = ReliableProducer(self._config, self._deadletter_topic)
        return _EpochPartition(producer, self._default_topic, self._max_in_flight, self._flush_timeout_s)


def epoch_output(step_id: str, records: Stream[KafkaRecord], sink: KafkaEpochSink) -> None:
    """``op.output`` of ``records`` to ``sink``, keyed onto its one partition."""
    op.output(step_id, op.key_on(f"{step_id}_partition", records, lambda _rec: PARTITION), sink)
