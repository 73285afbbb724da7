"""The API process's Kafka consumer for ``/v1/stream``: alerts, positions and spreads, fanned out to the open connections.

One consumer per process reads the three topics from their ends (assigned explicitly, no
consumer group offsets; ``ready`` is set once every partition is assigned at its end offset, so
every record produced after that reaches every subscriber). Each record becomes an ``Event``
with its Kafka position (channel, partition, offset): a client that reconnects sends the last
offsets it got and ``replay`` reads what came after them from Kafka with a private consumer
(``api.stream`` joins the replay to the live events without a gap or a repeat).

Positions are the ``fleet.telemetry`` fixes (Avro, decoded only while someone streams them),
with the vehicle's fleet from the registry (the config files, then ``fleet.config`` followed
live, as the flows do) so a manager's scope can be applied. A subscriber more than
``QUEUE_SIZE`` events behind is dropped (it gets ``None``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from confluent_kafka import Consumer, Message, TopicPartition

from access.fleet_config import read_registry
from contracts.alert import Alert
from contracts.avro import decode, header_version
from contracts.telemetry import from_avro_record
from rules.fleet.registry import Registry, apply_change
from sources.kafka_table import CompactedTopicTable

log = structlog.get_logger(__name__)
QUEUE_SIZE = 10_000  # events a slow connection may lag behind before it is closed (1013)
CHANNELS = ("alerts", "positions", "spreads")
POSITION_FIELDS = ("lat", "lon", "speed_kmh", "heading_deg", "ignition")


@dataclass(frozen=True)
class Event:
    """One record of one channel, with where it is on Kafka and who it is about."""

    channel: str
    partition: int
    offset: int
    body: dict[str, Any]
    vehicle_id: str | None = None
    fleet_id: str | None = None

    def message(self) -> dict[str, Any]:
        """What the client gets: ``{"type": "alert", "alert": {...}, "cursor": {...}}`` (position / spread alike)."""
        kind = self.channel[:-1]
        return {"type": kind, kind: self.body, "cursor": {"channel": self.channel, "partition": self.partition, "offset": self.offset}}


@dataclass(eq=False)
class Subscriber:
    """One connection's queue and the channels it wants."""

    channels: frozenset[str]
    queue: asyncio.Queue[list[Event] | None] = field(default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE))


class StreamHub:
    """The process's consumer of the stream topics and the queues of its open connections."""

    def __init__(self, kafka_config: dict[str, str], topics: dict[str, str], config_topic: str,
                 vehicles_file: Path, geofences_file: Path) -> None:
        self.topics = topics  # channel -> Kafka topic
        self._channel_of = {t: c for c, t in topics.items()}
        self._kafka = kafka_config
        self.ready = threading.Event()  # set once every partition is assigned at its end
        files = read_registry(vehicles_file, geofences_file)
        self._registry: CompactedTopicTable[Registry] = CompactedTopicTable(
            kafka_config, config_topic, Registry(vehicles=dict(files.vehicles), geofences=dict(files.geofences)), apply_change)
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._registry.start()
        self._thread = threading.Thread(target=self._run, name="api-stream-hub", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._registry.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def subscribe(self, channels: frozenset[str]) -> Subscriber:
        sub = Subscriber(channels)
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def fleet_of(self, vehicle_id: str) -> str | None:
        v = self._registry.current.vehicles.get(vehicle_id)
        return v.fleet_id if v is not None else None

    def event(self, msg: Message) -> Event | None:
        """The record as an event; None (logged) when it cannot be read."""
        channel = self._channel_of.get(msg.topic() or "")
        raw = msg.value()
        if channel is None or raw is None:
            return None
        part, offset = msg.partition() or 0, msg.offset() or 0
        try:
            if channel == "alerts":
                alert = Alert.from_dict(json.loads(raw))
                return Event(channel, part, offset, alert.to_dict(), alert.vehicle_id, alert.fleet_id)
            if channel == "positions":
                headers: Any = msg.headers()  # a list of (str, bytes) pairs from the consumer
                fix = from_avro_record(decode("telemetry", raw, header_version(headers)))
                fleet = self.fleet_of(fix.vehicle_id)
                body = {"vehicle_id": fix.vehicle_id, "fleet_id": fleet, "ts_ms": fix.ts_ms,
                        **{f: getattr(fix, f) for f in POSITION_FIELDS}}
                return Event(channel, part, offset, body, fix.vehicle_id, fleet)
            doc = json.loads(raw)
            if not isinstance(doc, dict) or "symbol" not in doc:
                raise ValueError("not a spread record")
            return Event(channel, part, offset, doc)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("stream skipped a record it cannot read", topic=msg.topic(), offset=offset, reason=str(exc)[:200])
            return None

    def _offer(self, sub: Subscriber, events: list[Event]) -> None:
        try:
            sub.queue.put_nowait(events)
        except asyncio.QueueFull:
            self.unsubscribe(sub)
            sub.queue.get_nowait()
            sub.queue.put_nowait(None)  # tells the connection it fell behind

    def _assign_ends(self, consumer: Consumer) -> None:
        parts = []
        for topic in self.topics.values():
            meta = consumer.list_topics(topic, timeout=30).topics[topic]
            if meta.error is not None:
                log.error("stream topic missing", topic=topic, error=str(meta.error))
                continue
            for p in meta.partitions:
                end = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                parts.append(TopicPartition(topic, p, end))
        consumer.assign(parts)

    def _run(self) -> None:
        consumer = Consumer({**self._kafka, "group.id": f"ticktrack-api-{uuid.uuid4().hex[:12]}", "enable.auto.commit": "false",
                             "log_level": "3"})
        try:
            self._assign_ends(consumer)
            self.ready.set()
            while not self._stop.is_set():
                msgs = consumer.consume(num_messages=500, timeout=0.2)
                with self._lock:
                    subs = list(self._subscribers)
                wanted = {c for s in subs for c in s.channels}
                events = [e for m in msgs if not m.error() and self._channel_of.get(m.topic() or "") in wanted
                          for e in [self.event(m)] if e is not None]
                if not events:
                    continue
                assert self._loop is not None
                for sub in subs:
                    mine = [e for e in events if e.channel in sub.channels]
                    if mine:
                        self._loop.call_soon_threadsafe(self._offer, sub, mine)
        finally:
            consumer.close()

    def _consumer(self) -> Consumer:
        return Consumer({**self._kafka, "group.id": f"ticktrack-api-replay-{uuid.uuid4().hex[:12]}",
                         "enable.auto.commit": "false", "log_level": "3"})

    def watermarks(self, channels: Iterable[str]) -> dict[str, dict[int, tuple[int, int]]]:
        """(first, end) offsets of every partition of the channels' topics, now."""
        consumer = self._consumer()
        try:
            out: dict[str, dict[int, tuple[int, int]]] = {}
            for channel in channels:
                topic = self.topics[channel]
                meta = consumer.list_topics(topic, timeout=10).topics[topic]
                out[channel] = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                                for p in sorted(meta.partitions)} if meta.error is None else {}
            return out
        finally:
            consumer.close()

    def replay(self, channel: str, ranges: dict[int, tuple[int, int]], timeout_s: float = 60.0) -> list[Event]:
        """The channel's records in ``[start, stop)`` per partition, read with a private consumer (a reconnect's catch-up)."""
        topic = self.topics[channel]
        todo = {p: r for p, r in ranges.items() if r[0] < r[1]}
        if not todo:
            return []
        consumer = self._consumer()
        events: list[Event] = []
        deadline = time.monotonic() + timeout_s
        try:
            consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in todo.items()])
            while todo and time.monotonic() < deadline:
                for msg in consumer.consume(num_messages=500, timeout=0.5):
                    part, offset = msg.partition() or 0, msg.offset() or 0
                    if msg.error() or part not in todo or offset >= todo[part][1]:
                        continue
                    e = self.event(msg)
                    if e is not None:
                        events.append(e)
                for tp in consumer.position([TopicPartition(topic, p) for p in list(todo)]):
                    if tp.offset >= todo[tp.partition][1]:
                        del todo[tp.partition]
            if todo:
                raise TimeoutError(f"{topic}: replay not done within {timeout_s} s")
            return events
        finally:
            consumer.close()
