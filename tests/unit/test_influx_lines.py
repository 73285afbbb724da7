"""The InfluxDB sink turns each item into its line once per batch and sends a chunk as one body
(pure logic, against a fake write API): a point without a line is a dead letter, not a lost write."""

from __future__ import annotations

from influxdb_client import Point, WritePrecision
from influxdb_client.rest import ApiException

from sinks.influxdb import _InfluxSinkPartition, lines_of


class FakeWriteApi:
    """Refuses (422) a body holding a line with ``bad`` in it; records the bodies it took."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def write(self, bucket: str, org: str, record: bytes, write_precision: str) -> None:
        assert isinstance(record, bytes) and write_precision == WritePrecision.MS
        if b"bad" in record:
            exc = ApiException(status=422, reason="unprocessable")
            exc.body = b'{"message": "field type conflict"}'
            raise exc
        self.bodies.append(record)


class FakeClient:
    def __init__(self) -> None:
        self.api = FakeWriteApi()

    def write_api(self, write_options: object) -> FakeWriteApi:
        return self.api


def sink(chunk_size: int = 1000) -> tuple[_InfluxSinkPartition, FakeWriteApi]:
    client = FakeClient()
    return _InfluxSinkPartition(client, "b", "o", chunk_size, None, None, None), client.api  # type: ignore[arg-type]


def test_points_and_lines_become_lines_once_and_points_without_fields_are_set_apart() -> None:
    empty = Point("m").tag("t", "x")
    lines, unwritable = lines_of([Point("m").field("f", 1.5).time(7, WritePrecision.MS), "m f=2 8", empty])
    assert lines == ["m f=1.5 7", "m f=2 8"]
    assert unwritable == [(empty, "not written: the point has no fields")]


def test_a_chunk_is_one_body_and_a_refused_line_is_found_by_halves() -> None:
    part, api = sink(chunk_size=3)
    part.write_batch(["m f=1 1", "m f=2 2", "m f=3 3", "m f=4 4", "m bad=1 5"])
    assert api.bodies == [b"m f=1 1\nm f=2 2\nm f=3 3", b"m f=4 4"]  # the second chunk's good half, alone


def test_a_tuple_of_lines_is_written_as_its_lines_and_a_refused_one_is_found_alone() -> None:
    """The fleet store hands the sink one tuple of lines per source batch (dataflows/fleet_store.py)."""
    assert lines_of([("m f=1 1", "m f=2 2"), "m f=3 3"]) == (["m f=1 1", "m f=2 2", "m f=3 3"], [])
    part, api = sink(chunk_size=3)
    part.write_batch([("m f=1 1", "m f=2 2", "m f=3 3", "m bad=1 4"), ("m f=5 5",)])
    assert api.bodies == [b"m f=1 1\nm f=2 2\nm f=3 3", b"m f=5 5"]  # the refused line alone is left out
