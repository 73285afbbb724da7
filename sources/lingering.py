"""A partitioned source whose partitions wait a little after a short batch, so that batches grow.

Why: Bytewax polls a ``KafkaSource`` partition as fast as it can (``consume`` with a 1 ms wait),
so at live rates (1,000 fixes/s over several partitions) nearly every batch holds one message,
and every step after it pays its per-call cost per message - the analytics flow's bucket step
per bucket and batch, its output steps per bucket output (issue 11). After a batch shorter than
``full``, the partition is not polled again for ``linger``: the next batch holds what arrived in
the meantime. A full batch (a backlog) is followed at once. Offsets and snapshots are the inner
partition's, so at-least-once is unchanged; the cost is up to ``linger`` of latency.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

X = TypeVar("X")
S = TypeVar("S")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LingeringPartition(StatefulSourcePartition[X, S], Generic[X, S]):
    """``inner`` polled again only ``linger`` after a batch shorter than ``full``."""

    def __init__(self, inner: StatefulSourcePartition[X, S], linger: timedelta, full: int,
                 now: Callable[[], datetime] = _utc_now) -> None:
        self._inner = inner
        self._linger = linger
        self._full = full
        self._now = now
        self._awake: datetime | None = None

    def next_batch(self) -> list[X]:
        batch = list(self._inner.next_batch())
        self._awake = self._now() + self._linger if len(batch) < self._full else None
        return batch

    def next_awake(self) -> datetime | None:
        inner = self._inner.next_awake()
        if self._awake is None:
            return inner
        return self._awake if inner is None else max(inner, self._awake)

    def snapshot(self) -> S:
        return self._inner.snapshot()

    def close(self) -> None:
        self._inner.close()


class LingeringSource(FixedPartitionedSource[X, S], Generic[X, S]):
    """``inner``'s partitions, each a ``LingeringPartition`` (``linger`` zero: ``inner`` as it is)."""

    def __init__(self, inner: FixedPartitionedSource[X, S], linger: timedelta, full: int) -> None:
        self._inner = inner
        self._linger = linger
        self._full = full

    def list_parts(self) -> list[str]:
        return self._inner.list_parts()

    def build_part(self, step_id: str, for_part: str, resume_state: S | None) -> StatefulSourcePartition[X, S]:
        part = self._inner.build_part(step_id, for_part, resume_state)
        return LingeringPartition(part, self._linger, self._full) if self._linger > timedelta(0) else part
