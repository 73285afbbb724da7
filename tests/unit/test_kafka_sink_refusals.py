"""The Kafka sink's delivery state machine (pure logic, against a fake librdkafka producer):
refused records are found one by one and dead-lettered, outages and timeouts are waited out,
nothing is dropped and nothing raises unless there is no dead-letter topic."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import KafkaError, KafkaException

from sinks.kafka import KafkaDeliveryError, KafkaRecord, ReliableProducer, backoff_s, error_kind

LIMITS = {"t": 1000}  # the fake topics' max.message.bytes (others: 1 MB)


class FakeProducer:
    """Holds produced records until ``flush``; then, like a broker, refuses a whole per-topic batch
    when one record in it is over the topic's limit, and plays the outages it was given."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.queue: list[tuple[str, bytes | None, bytes | None, object]] = []

    def produce(self, topic, value, key, headers=None, on_delivery=None, **kw) -> None:
        if value is not None and len(value) > self.world.client_limit:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "client: message too large"))
        self.queue.append((topic, key, value, on_delivery))

    def poll(self, timeout: float = 0) -> int:
        return 0

    def flush(self, timeout: float = 0) -> int:
        w = self.world
        w.flushes += 1
        if w.down_flushes:
            w.down_flushes -= 1
            return len(self.queue)
        queue, self.queue = self.queue, []
        if w.timeouts:
            w.timeouts -= 1
            for *_, cb in queue:
                cb(KafkaError(KafkaError._MSG_TIMED_OUT, "Local: Message timed out"), None)
            return 0
        if w.fatal:
            w.fatal -= 1
            for *_, cb in queue:
                cb(KafkaError(KafkaError._FATAL, "Local: Fatal error", fatal=True), None)
            return 0
        for topic in dict.fromkeys(t for t, *_ in queue):
            batch = [q for q in queue if q[0] == topic]
            if topic not in w.topics:
                err = KafkaError(KafkaError._UNKNOWN_TOPIC, "Local: Unknown topic")
            elif any(len(v or b"") > LIMITS.get(topic, 10**6) for _, _, v, _ in batch):
                err = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE, "Broker: Message size too large")
            else:
                err = None
            for t, k, v, cb in batch:
                if err is None:
                    w.delivered.append((t, k, v))
                cb(err, None)
        return 0


class World:
    def __init__(self, *topics: str, down_flushes: int = 0, timeouts: int = 0, fatal: int = 0,
                 client_limit: int = 10**9) -> None:
        self.topics = set(topics)
        self.down_flushes, self.timeouts, self.fatal, self.client_limit = down_flushes, timeouts, fatal, client_limit
        self.delivered: list[tuple[str, bytes | None, bytes | None]] = []
        self.flushes = 0
        self.producers = 0
        self.sleeps: list[float] = []

    def producer(self, deadletter_topic: str | None = "dl") -> ReliableProducer:
        def factory(_config: dict) -> FakeProducer:
            self.producers += 1
            return FakeProducer(self)

        return ReliableProducer({}, deadletter_topic, wait_log_interval_s=0, sleep=self.sleeps.append,
                                producer_factory=factory)


def records(n: int, topic: str = "t", big: set[int] = frozenset()) -> list[tuple[KafkaRecord, str]]:
    return [(KafkaRecord(f"k{i}".encode(), (b"x" * 2000) if i in big else f"v{i}".encode()), topic) for i in range(n)]


def test_a_dead_letter_of_a_size_refusal_keeps_only_the_first_kib() -> None:
    world = World("t", "dl")
    world.producer().deliver([(KafkaRecord(b"k", b"y" * 5000), "t")])
    ((_, _, value),) = [d for d in world.delivered if d[0] == "dl"]
    d = json.loads(value)
    assert (d["payload"], d["payload_bytes"], d["payload_truncated"]) == ("y" * 1024, 5000, True)


def test_a_record_over_the_limit_goes_to_the_dead_letter_topic_the_rest_arrive_once() -> None:
    world = World("t", "dl")
    world.producer().deliver(records(10, big={3, 7}))
    good = [(t, k, v) for t, k, v in world.delivered if t == "t"]
    assert good == [("t", f"k{i}".encode(), f"v{i}".encode()) for i in range(10) if i not in (3, 7)]
    letters = [(k, json.loads(v)) for t, k, v in world.delivered if t == "dl"]
    assert [k for k, _ in letters] == [b"k3", b"k7"]  # keyed as the original
    for _, d in letters:
        assert d["reason"] == "kafka refused the record for t: MSG_SIZE_TOO_LARGE: Broker: Message size too large"
        assert (d["source_topic"], d["payload"], d["payload_bytes"]) == ("kafka:t", "x" * 1024, 2000)


def test_without_a_dead_letter_topic_a_refusal_raises() -> None:
    world = World("t")
    with pytest.raises(KafkaDeliveryError, match="MSG_SIZE_TOO_LARGE"):
        world.producer(deadletter_topic=None).deliver(records(3, big={1}))


def test_a_refused_dead_letter_raises_rather_than_vanishing() -> None:
    world = World("t")  # no "dl" topic
    with pytest.raises(KafkaDeliveryError, match="refused a dead letter for dl: _UNKNOWN_TOPIC"):
        world.producer().deliver(records(2, big={0}))


def test_unknown_topic_is_a_refusal() -> None:
    world = World("dl")
    world.producer().deliver(records(2, topic="nope"))
    assert [json.loads(v)["reason"] for t, _, v in world.delivered] == [
        "kafka refused the record for nope: _UNKNOWN_TOPIC: Local: Unknown topic"] * 2


def test_kafka_down_is_waited_out_not_raised() -> None:
    world = World("t", "dl", down_flushes=50)
    world.producer().deliver(records(5))
    assert [k for _, k, _ in world.delivered] == [f"k{i}".encode() for i in range(5)]
    assert world.flushes == 51


def test_delivery_timeouts_are_produced_again_with_growing_pauses() -> None:
    world = World("t", "dl", timeouts=4)
    world.producer().deliver(records(5))
    assert [k for _, k, _ in world.delivered] == [f"k{i}".encode() for i in range(5)]
    assert world.sleeps == [0.5, 1.0, 2.0, 4.0]


def test_a_fatal_producer_error_replaces_the_producer_and_delivers() -> None:
    world = World("t", "dl", fatal=1)
    world.producer().deliver(records(3))
    assert world.producers == 2 and [k for _, k, _ in world.delivered] == [b"k0", b"k1", b"k2"]


def test_a_record_the_client_refuses_before_sending_is_dead_lettered() -> None:
    world = World("t", "dl", client_limit=1500)
    world.producer().deliver(records(3, big={2}))
    assert [(t, k) for t, k, _ in world.delivered] == [("t", b"k0"), ("t", b"k1"), ("dl", b"k2")]


def test_error_kinds_and_backoff() -> None:
    assert error_kind(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)) == "refused"
    assert error_kind(KafkaError(KafkaError.INVALID_RECORD)) == "refused"
    assert error_kind(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)) == "refused"
    assert error_kind(KafkaError(KafkaError._MSG_TIMED_OUT)) == "transient"
    assert error_kind(KafkaError(KafkaError._TRANSPORT)) == "transient"
    assert error_kind(KafkaError(KafkaError._FATAL, fatal=True)) == "fatal"
    assert [backoff_s(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
