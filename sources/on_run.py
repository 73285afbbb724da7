"""Run start-up work when a flow starts reading, not when ``build_flow()`` builds it.

``build_flow()`` only describes a dataflow (tests build it, ``bytewax.run`` imports it); what
touches the process - logging set-up, a registry consumer thread and its wait to catch up -
belongs to the run. These wrappers around a flow's input call ``on_start`` once per process,
the first time Bytewax asks the source for its partitions, then behave as the wrapped source.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from bytewax.inputs import DynamicSource, FixedPartitionedSource, StatefulSourcePartition, StatelessSourcePartition

from settings import metrics
from settings.logs import bind_worker

X = TypeVar("X")
S = TypeVar("S")


class Once:
    """Call ``fn`` the first time ``__call__`` runs, in whichever worker thread gets there first."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._lock = threading.Lock()
        self._done = False

    def __call__(self) -> None:
        with self._lock:
            if not self._done:
                self._fn()
                self._done = True


class OnRunFixed(FixedPartitionedSource[X, S], Generic[X, S]):
    """``source`` (e.g. ``KafkaSource``) with ``on_start`` run before its partitions are listed."""

    def __init__(self, source: FixedPartitionedSource[X, S], on_start: Callable[[], Any]) -> None:
        self._source = source
        self._start = Once(on_start)

    def list_parts(self) -> list[str]:
        self._start()
        return self._source.list_parts()

    def build_part(self, step_id: str, for_part: str, resume_state: S | None) -> StatefulSourcePartition[X, S]:
        self._start()
        return _CountedFixed(step_id, self._source.build_part(step_id, for_part, resume_state))


class OnRunDynamic(DynamicSource[X], Generic[X]):
    """``source`` (e.g. ``MqttSource``) with ``on_start`` run before a worker builds its partition."""

    def __init__(self, source: DynamicSource[X], on_start: Callable[[], Any]) -> None:
        self._source = source
        self._start = Once(on_start)

    def build(self, step_id: str, worker_index: int, worker_count: int) -> StatelessSourcePartition[X]:
        self._start()
        bind_worker(worker_index)
        return _CountedDynamic(step_id, self._source.build(step_id, worker_index, worker_count))


def _count(step_id: str, batch: list[Any]) -> None:
    """Records in, and the next offset of each Kafka partition read (``settings.metrics``)."""
    if not batch:
        return
    metrics.count_in(step_id, len(batch))
    last = batch[-1]
    if hasattr(last, "offset") and hasattr(last, "partition") and hasattr(last, "topic"):
        metrics.consumed(last.topic, last.partition, last.offset + 1)


class _Counting(Generic[X]):
    """Delegates a partition's reads and counts them (``_count``)."""

    def __init__(self, step_id: str, part: StatefulSourcePartition[X, Any] | StatelessSourcePartition[X]) -> None:
        self._step_id, self._part = step_id, part

    def next_batch(self) -> list[X]:
        batch = list(self._part.next_batch())
        _count(self._step_id, batch)
        return batch

    def next_awake(self) -> Any:
        return self._part.next_awake()

    def close(self) -> None:
        self._part.close()


class _CountedFixed(_Counting[X], StatefulSourcePartition[X, S]):
    def __init__(self, step_id: str, part: StatefulSourcePartition[X, S]) -> None:
        super().__init__(step_id, part)
        self._fixed = part

    def snapshot(self) -> S:
        return self._fixed.snapshot()


class _CountedDynamic(_Counting[X], StatelessSourcePartition[X]):
    """A stateless partition, counted."""
