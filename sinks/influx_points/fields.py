"""Setting InfluxDB fields so that a field never changes type between points.

InfluxDB refuses a point whose field has another type than earlier points of its shard
(HTTP 422 ``field type conflict``), and it has no null. Every point builder sets its fields
here: numbers become floats except the names it declares as integers; ``None`` is left out.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from influxdb_client import Point, WritePrecision


def set_fields(p: Point, int_fields: Collection[str], **fields: Any) -> Point:
    """Add ``fields`` to ``p``: ints for ``int_fields``, floats for other numbers, skip None."""
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = int(value) if name in int_fields else float(value)
        p.field(name, value)
    return p


def at_ms(p: Point, ts_ms: int) -> Point:
    """``p`` at ``ts_ms`` (milliseconds): ``Point.time`` returns the point, but untyped."""
    p.time(ts_ms, WritePrecision.MS)
    return p
