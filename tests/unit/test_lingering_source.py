"""sources/lingering.py: after a short batch the partition asks not to be polled for the linger;
after a full one (a backlog) it asks nothing; snapshots and closing are the inner partition's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bytewax.inputs import StatefulSourcePartition

from sources.lingering import LingeringPartition

T = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Inner(StatefulSourcePartition[int, int]):
    def __init__(self, batches: list[list[int]]) -> None:
        self.batches, self.offset, self.closed = batches, 0, False

    def next_batch(self) -> list[int]:
        batch = self.batches.pop(0)
        self.offset += len(batch)
        return batch

    def next_awake(self) -> datetime | None:
        return None

    def snapshot(self) -> int:
        return self.offset

    def close(self) -> None:
        self.closed = True


def test_a_short_batch_lingers_a_full_one_does_not() -> None:
    inner = Inner([[1], [2, 3, 4], []])
    part = LingeringPartition(inner, timedelta(milliseconds=20), full=3, now=lambda: T)
    assert part.next_awake() is None
    assert part.next_batch() == [1] and part.next_awake() == T + timedelta(milliseconds=20)
    assert part.next_batch() == [2, 3, 4] and part.next_awake() is None  # a backlog is read on at once
    assert part.next_batch() == [] and part.next_awake() == T + timedelta(milliseconds=20)
    assert part.snapshot() == 4
    part.close()
    assert inner.closed
