"""Which Kafka offsets may be committed: only a contiguous run of fully handled messages.

Deliveries finish out of order (a retried webhook holds one alert while later ones go out),
but a commit says "everything before this offset is done". So per partition the committable
offset is one past the last message of the longest finished prefix. Pure, no Kafka.
"""

from __future__ import annotations

from collections import deque

Partition = tuple[str, int]  # (topic, partition)


class OffsetTracker:
    """Offsets seen and finished per partition; tells the next offset to commit."""

    def __init__(self) -> None:
        self._pending: dict[Partition, deque[list[int | bool]]] = {}  # [offset, done] in arrival order
        self._done_upto: dict[Partition, int] = {}  # next offset to commit, per partition
        self._committed: dict[Partition, int] = {}

    def add(self, tp: Partition, offset: int) -> None:
        """A message was read; it must finish before anything after it is committed."""
        self._pending.setdefault(tp, deque()).append([offset, False])

    def done(self, tp: Partition, offset: int) -> None:
        """Every delivery of the message at ``offset`` is settled (ignored if the partition was revoked)."""
        queue = self._pending.get(tp)
        if queue is None:
            return
        for entry in queue:
            if entry[0] == offset:
                entry[1] = True
                break
        while queue and queue[0][1]:
            self._done_upto[tp] = int(queue.popleft()[0]) + 1

    def in_flight(self) -> int:
        """Messages read and not yet finished, over all partitions."""
        return sum(sum(1 for _, d in q if not d) for q in self._pending.values())

    def to_commit(self, partitions: list[Partition] | None = None) -> dict[Partition, int]:
        """Offsets (next to read) that moved since the last ``committed`` call."""
        keys = self._done_upto.keys() if partitions is None else [p for p in partitions if p in self._done_upto]
        return {tp: self._done_upto[tp] for tp in keys if self._committed.get(tp) != self._done_upto[tp]}

    def committed(self, offsets: dict[Partition, int]) -> None:
        self._committed.update(offsets)

    def forget(self, partitions: list[Partition]) -> None:
        """Partitions revoked in a rebalance: their late completions no longer count."""
        for tp in partitions:
            self._pending.pop(tp, None)
            self._done_upto.pop(tp, None)
            self._committed.pop(tp, None)
