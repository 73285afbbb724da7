"""The InfluxDB sink's bisection: which points of a refused chunk are the bad ones (pure logic)."""

from __future__ import annotations

import pytest
from influxdb_client.rest import ApiException

from sinks.influxdb import find_refused, is_retryable


class FakeServer:
    """Refuses (422) any chunk containing a bad item, is down (503) on demand; records writes."""

    def __init__(self, bad: set[str], down: bool = False) -> None:
        self.bad = bad
        self.down = down
        self.written: list[str] = []
        self.calls = 0

    def write(self, items) -> None:
        self.calls += 1
        if self.down:
            raise ApiException(status=503, reason="unavailable")
        refused = [i for i in items if i in self.bad]
        if refused:
            exc = ApiException(status=422, reason="unprocessable")
            exc.body = f'{{"message": "partial write: {refused[0]} outside retention"}}'.encode()
            raise exc
        self.written.extend(items)


def refused(exc: Exception) -> bool:
    return not is_retryable(exc)


def test_bisect_finds_exactly_the_refused_points_and_writes_the_rest() -> None:
    items = [f"p{i}" for i in range(100)]
    server = FakeServer({"p3", "p57", "p58", "p99"})
    bad = find_refused(items, server.write, refused)
    assert [i for i, _ in bad] == ["p3", "p57", "p58", "p99"]
    assert sorted(server.written) == sorted(set(items) - server.bad)
    assert all(reason.startswith("influxdb 422: ") and item in reason for item, reason in bad)
    assert server.calls < 60  # a bisection, not one write per point


def test_a_clean_chunk_is_one_write() -> None:
    server = FakeServer(set())
    assert find_refused(["a", "b", "c"], server.write, refused) == []
    assert server.calls == 1 and server.written == ["a", "b", "c"]


def test_an_outage_is_not_a_refusal_it_propagates_for_retry() -> None:
    server = FakeServer({"b"}, down=True)
    with pytest.raises(ApiException):
        find_refused(["a", "b"], server.write, refused)
    assert server.written == []


def test_which_answers_are_refusals_and_which_are_waited_out() -> None:
    from sinks.influxdb import is_refusal

    assert all(is_refusal(ApiException(status=s)) for s in (400, 413, 422))
    assert not any(is_refusal(ApiException(status=s)) for s in (401, 403, 404, 408, 429, 500, 503))
    assert not is_refusal(ApiException(status=None))  # no answer at all: an outage
    assert is_refusal(ValueError("a point the client cannot serialize"))
    assert not is_refusal(ConnectionRefusedError())


def test_the_reason_is_influxdbs_own_message() -> None:
    from sinks.influxdb import refusal_reason

    exc = ApiException(status=422, reason="Unprocessable Entity")
    exc.body = (b'{"code":"unprocessable entity","message":"failure writing points to database: partial write: dropped 1 points '
                b'outside retention policy of duration 24h0m0s - oldest point m at 2026-11-20T00:00:00Z dropped=1"}')
    assert refusal_reason(exc) == ("influxdb 422: failure writing points to database: partial write: dropped 1 points "
                                   "outside retention policy of duration 24h0m0s - oldest point m at 2026-11-20T00:00:00Z dropped=1")
    exc.body = "not json"
    assert refusal_reason(exc) == "influxdb 422: not json"
    assert refusal_reason(TypeError("bad field")) == "not written: TypeError: bad field"


def test_an_empty_chunk_is_no_write() -> None:
    server = FakeServer({"a"})
    assert find_refused([], server.write, refused) == [] and server.calls == 0
