"""InfluxDB points on Kafka: the records of ``fleet.points`` and ``crypto.points``.

The analytics and prices flows never talk to InfluxDB (an outage there must not delay an
alert): they put each point they compute on a Kafka topic as one InfluxDB line-protocol
record with a millisecond timestamp, and the domain's store flow writes those records to
InfluxDB as they are. This is the format Telegraf's Kafka consumer reads, too.
"""

from __future__ import annotations

from influxdb_client import Point, WritePrecision

PRECISION = WritePrecision.MS

# https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/#special-characters
# (with influxdb_client's extras for newlines and tabs, so a hand-built line equals a Point's).
_ESCAPE_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_ESCAPE_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\n", "\t": r"\t", "\r": r"\r"})
_ESCAPE_STRING = str.maketrans({'"': r'\"', "\\": r"\\"})


class InvalidLine(ValueError):
    """A record of a points topic that is not a line-protocol point."""


def encode_point(p: Point) -> bytes:
    """One point -> the record value (UTF-8 line protocol, timestamp in milliseconds)."""
    line: str = p.to_line_protocol(PRECISION)
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


def escape_measurement(name: str) -> str:
    """A measurement name: commas and spaces escaped."""
    return name.translate(_ESCAPE_MEASUREMENT)


def escape_key(key: str) -> str:
    """A tag key, tag value or field key: commas, equals signs and spaces escaped."""
    return key.translate(_ESCAPE_KEY)


def escape_tag_value(value: str) -> str:
    """A tag value; one ending in a backslash gets a space, or it would escape the separator after it."""
    out = value.translate(_ESCAPE_KEY)
    return out + " " if out.endswith("\\") else out


def string_field(value: str) -> str:
    """A string field value: double quotes and backslashes escaped, in double quotes."""
    return '"' + value.translate(_ESCAPE_STRING) + '"'


def float_field(value: float) -> str:
    """A float field value as influxdb_client writes it: shortest repr, without a trailing ``.0``.
    Callers leave out non-finite values (line protocol has no NaN or infinity)."""
    s = repr(float(value))
    return s[:-2] if s.endswith(".0") else s
