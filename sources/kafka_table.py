"""A live, read-only view of a compacted Kafka topic, kept in every process that needs it.

Like a Kafka Streams *global table*: a background consumer reads the whole topic from the
beginning (no consumer group, nothing committed), applies each record to an immutable value
with ``apply(value, key, payload_or_None)`` and swaps the reference, so readers always see a
complete, consistent value. Used for the fleet registry (vehicles, fleets, geofences): a change
published to ``fleet.config`` takes effect in the running flows within a second, no restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import structlog
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

log = structlog.get_logger(__name__)
T = TypeVar("T")


class CompactedTopicTable(Generic[T]):
    """Start with ``start()``; read ``current``; ``wait_caught_up()`` before the flow starts."""

    def __init__(self, kafka_config: dict[str, str], topic: str, initial: T, apply: Callable[[T, str, bytes | None], T]) -> None:
        self._config = {**kafka_config, "group.id": f"table-{topic}", "enable.auto.commit": "false",
                        "enable.partition.eof": "true", "log_level": "3"}
        self._topic = topic
        self._apply = apply
        self._current = initial
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"table-{topic}", daemon=True)
        self.applied = 0
        self.rejected = 0

    @property
    def current(self) -> T:
        return self._current

    def start(self) -> CompactedTopicTable[T]:
        self._thread.start()
        return self

    def wait_caught_up(self, timeout_s: float = 30.0) -> bool:
        """True once every partition was read to its end at least once."""
        return self._caught_up.wait(timeout_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        consumer = Consumer(self._config)
        meta = consumer.list_topics(self._topic, timeout=30).topics[self._topic]
        if meta.error is not None:
            log.error("table_topic_missing", topic=self._topic, error=str(meta.error))
            self._caught_up.set()
            return
        parts = [TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in meta.partitions]
        consumer.assign(parts)
        pending_eof = {p.partition for p in parts}
        try:
            while not self._stop.is_set():
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        pending_eof.discard(msg.partition())
                        if not pending_eof and not self._caught_up.is_set():
                            log.info("table_caught_up", topic=self._topic, applied=self.applied, rejected=self.rejected)
                            self._caught_up.set()
                    else:
                        log.warning("table_consume_error", topic=self._topic, error=err.str())
                    continue
                self._apply_record(msg.key(), msg.value())
        finally:
            consumer.close()

    def _apply_record(self, key: bytes | None, value: bytes | None) -> None:
        text_key = (key or b"").decode("utf-8", errors="replace")
        try:
            self._current = self._apply(self._current, text_key, value)
            self.applied += 1
            log.info("table_change_applied", topic=self._topic, key=text_key, deleted=value is None)
        except Exception as exc:  # noqa: BLE001 - a bad change must not stop the table
            self.rejected += 1
            log.error("table_change_rejected", topic=self._topic, key=text_key, error=str(exc)[:300],
                      at=time.time())


def read_to_end(kafka_config: dict[str, str], topic: str, initial: T, apply: Callable[[T, str, bytes | None], T],
                timeout_s: float) -> T:
    """Fold the topic from its beginning to its current end once and return the table; raises
    ``TimeoutError`` when the end is not reached within ``timeout_s`` (readers that need one snapshot)."""
    table: CompactedTopicTable[T] = CompactedTopicTable(kafka_config, topic, initial, apply)
    table.start()
    try:
        if not table.wait_caught_up(timeout_s):
            raise TimeoutError(f"{topic}: not read to its end within {timeout_s} s")
    finally:
        table.stop()
    return table.current
