"""Only a contiguous prefix of settled messages is committed, per partition."""

from notifier.offsets import OffsetTracker

A, B = ("t", 0), ("t", 1)


def test_commit_waits_for_the_oldest_unsettled() -> None:
    t = OffsetTracker()
    for o in (10, 11, 12):
        t.add(A, o)
    t.done(A, 11)
    t.done(A, 12)
    assert t.to_commit() == {}
    assert t.in_flight() == 1
    t.done(A, 10)
    assert t.to_commit() == {A: 13}
    t.committed({A: 13})
    assert t.to_commit() == {}
    assert t.in_flight() == 0


def test_partitions_are_independent() -> None:
    t = OffsetTracker()
    t.add(A, 0)
    t.add(B, 5)
    t.done(B, 5)
    assert t.to_commit() == {B: 6}
    assert t.to_commit([A]) == {}


def test_forgotten_partition_ignores_late_completions() -> None:
    t = OffsetTracker()
    t.add(A, 0)
    t.forget([A])
    t.done(A, 0)
    assert t.to_commit() == {} and t.in_flight() == 0
