"""The epoch-confirmed Kafka sink (sinks/kafka_epoch.py) against the fake broker of
test_kafka_sink_refusals: writing a batch only produces; the snapshot (and a full window)
waits for every delivery report, with the retries and dead letters of the blocking sink."""

from __future__ import annotations

import json

import pytest

from sinks.kafka import KafkaDeliveryError, KafkaRecord
from sinks.kafka_epoch import _EpochPartition
from tests.unit.test_kafka_sink_refusals import World, records


def partition(world: World, max_in_flight: int = 1000, deadletter_topic: str | None = "dl") -> _EpochPartition:
    return _EpochPartition(world.producer(deadletter_topic), "t", max_in_flight, 1.0)


def values(n: int) -> list[KafkaRecord]:
    return [rec for rec, _ in records(n)]


def test_write_batch_does_not_wait_the_snapshot_does() -> None:
    world = World("t", "dl")
    part = partition(world)
    part.write_batch(values(3))
    part.write_batch(values(2))
    assert world.flushes == 0 and world.delivered == []
    assert part.snapshot() is None
    assert [k for _, k, _ in world.delivered] == [b"k0", b"k1", b"k2", b"k0", b"k1"] and world.flushes == 1


def test_a_full_window_waits_before_the_snapshot() -> None:
    world = World("t", "dl")
    part = partition(world, max_in_flight=4)
    part.write_batch(values(3))
    assert world.flushes == 0
    part.write_batch(values(2))
    assert world.flushes == 1 and len(world.delivered) == 5


def test_the_snapshot_waits_out_an_outage_and_retries_timeouts() -> None:
    world = World("t", "dl", down_flushes=3, timeouts=2)
    part = partition(world)
    part.write_batch(values(4))
    part.snapshot()
    assert [k for _, k, _ in world.delivered] == [b"k0", b"k1", b"k2", b"k3"]
    assert world.sleeps == [0.5, 1.0]


def test_refused_records_are_dead_lettered_at_the_snapshot_the_rest_delivered_once() -> None:
    world = World("t", "dl")
    part = partition(world)
    part.write_batch([rec for rec, _ in records(6, big={2})])
    part.snapshot()
    assert [k for t, k, _ in world.delivered if t == "t"] == [b"k0", b"k1", b"k3", b"k4", b"k5"]
    ((_, key, letter),) = [d for d in world.delivered if d[0] == "dl"]
    assert key == b"k2" and json.loads(letter)["reason"].startswith("kafka refused the record for t: MSG_SIZE_TOO_LARGE")


def test_without_a_dead_letter_topic_the_snapshot_raises() -> None:
    world = World("t")
    part = partition(world, deadletter_topic=None)
    part.write_batch([rec for rec, _ in records(2, big={0})])
    with pytest.raises(KafkaDeliveryError):
        part.snapshot()


def test_close_delivers_what_is_left() -> None:
    world = World("t", "dl")
    part = partition(world)
    part.write_batch(values(2))
    part.close()
    assert len(world.delivered) == 2
