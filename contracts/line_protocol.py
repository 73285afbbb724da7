"""InfluxDB points on Kafka: the records of ``fleet.points`` and ``crypto.points``.

The analytics and prices flows never talk to InfluxDB (an outage there must not delay an
alert): they put each point they compute on a Kafka topic as one InfluxDB line-protocol
record with a millisecond timestamp, and the domain's store flow writes those records to
InfluxDB as they are. This is the format Telegraf's Kafka consumer reads, too.
"""

from __future__ import annotations

from influxdb_client import Point, WritePrecision

PRECISION = WritePrecision.MS


class InvalidLine(ValueError):
    """A record of a points topic that is not a line-protocol point."""


def encode_point(p: Point) -> bytes:
    """One point -> the record value (UTF-8 line protocol, timestamp in milliseconds)."""
    line = p.to_line_protocol(PRECISION)
    if not line:
        raise InvalidLine(f"point of measurement {p._name!r} has no fields")  # noqa: SLF001 - only for the message
    return line.encode("utf-8")


def decode_line(value: bytes | None) -> str:
    """The record value -> the line to write; raises ``InvalidLine`` on empty or non-UTF-8 values."""
    if not value:
        raise InvalidLine("empty points record")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidLine("points record is not UTF-8") from None
