"""The API process's one Kafka consumer of alerts, fanning each alert out to the open ``/v1/stream`` connections.

No consumer group offsets: each process starts at the topic's end when it starts (``ready``
is set once the partitions' end offsets are assigned, so every alert produced after that is
delivered). A connection more than ``QUEUE_SIZE`` alerts behind is dropped (it gets ``None``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid

import structlog
from confluent_kafka import Consumer, TopicPartition

from contracts.alert import Alert

log = structlog.get_logger(__name__)
QUEUE_SIZE = 1000  # alerts a slow connection may lag behind before it is closed (1013)


class AlertHub:
    """The process's Kafka consumer of alerts and the queues of its open connections."""

    def __init__(self, kafka_config: dict[str, str], topic: str) -> None:
        self.topic = topic
        self.ready = threading.Event()  # set once the consumer reads from the partitions' ends
        self._config = {**kafka_config, "group.id": f"ticktrack-api-{uuid.uuid4().hex[:12]}", "enable.auto.commit": "false",
                        "auto.offset.reset": "latest", "log_level": "3"}
        self._subscribers: set[asyncio.Queue[Alert | None]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="api-alert-hub", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def subscribe(self) -> asyncio.Queue[Alert | None]:
        q: asyncio.Queue[Alert | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        with self._lock:
            self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[Alert | None]) -> None:
        with self._lock:
            self._subscribers.discard(q)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # explicit end offsets, so "ready" means: every alert produced from now on is delivered
        ends = [TopicPartition(p.topic, p.partition, consumer.get_watermark_offsets(p, timeout=10)[1]) for p in partitions]
        consumer.assign(ends)
        self.ready.set()

    def _offer(self, q: asyncio.Queue[Alert | None], alert: Alert) -> None:
        try:
            q.put_nowait(alert)
        except asyncio.QueueFull:
            self.unsubscribe(q)
            q.get_nowait()
            q.put_nowait(None)  # tells the connection it fell behind

    def _run(self) -> None:
        consumer = Consumer(self._config)
        consumer.subscribe([self.topic], on_assign=self._on_assign)
        try:
            while not self._stop.is_set():
                for msg in consumer.consume(num_messages=200, timeout=0.2):
                    if msg.error() or msg.value() is None:
                        continue
                    try:
                        alert = Alert.from_dict(json.loads(msg.value() or b""))
                    except (ValueError, TypeError) as exc:
                        log.warning("stream skipped a record it cannot read", topic=self.topic, offset=msg.offset(), reason=str(exc))
                        continue
                    with self._lock:
                        queues = list(self._subscribers)
                    for q in queues:
                        assert self._loop is not None
                        self._loop.call_soon_threadsafe(self._offer, q, alert)
        finally:
            consumer.close()
