"""InfluxDB points <-> one Parquet file, exactly (nanosecond times, field types kept).

Columns: ``time`` (timestamp[ns, UTC]), one string column per tag, one column per field with its
InfluxDB type (double, int64, string, bool; null where a point lacks the field). The measurement and
which columns are tags or fields are in the file's metadata, so a file restores on its own.
Rows are sorted by time then tags, so the same points always give the same bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from influxdb_client import Point, WritePrecision

META_PREFIX = b"ticktrack."


@dataclass(frozen=True)
class PointRow:
    """One point: time in ns, tags and fields (no None values)."""

    time_ns: int
    tags: dict[str, str]
    fields: dict[str, Any]


def write_parquet(path: Path, measurement: str, rows: list[PointRow], extra_meta: dict[str, str]) -> int:
    """Write ``rows`` to ``path`` atomically (temp file + rename); returns the row count."""
    tag_keys = sorted({k for r in rows for k in r.tags})
    field_keys = sorted({k for r in rows for k in r.fields})
    rows = sorted(rows, key=lambda r: (r.time_ns, tuple(r.tags.get(k) or "" for k in tag_keys)))
    columns: dict[str, pa.Array] = {"time": pa.array([r.time_ns for r in rows], type=pa.timestamp("ns", tz="UTC"))}
    for k in tag_keys:
        columns[k] = pa.array([r.tags.get(k) for r in rows], type=pa.string())
    for k in field_keys:
        columns[k] = pa.array([r.fields.get(k) for r in rows])
    meta = {"measurement": measurement, "tags": json.dumps(tag_keys), "fields": json.dumps(field_keys), **extra_meta}
    table = pa.table(columns).replace_schema_metadata({META_PREFIX + k.encode(): v.encode() for k, v in meta.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return len(rows)


def read_parquet(path: Path) -> tuple[str, Iterator[PointRow]]:
    """(measurement, rows) of a file written by ``write_parquet``."""
    table = pq.read_table(path)
    meta = {k[len(META_PREFIX):].decode(): v.decode() for k, v in (table.schema.metadata or {}).items() if k.startswith(META_PREFIX)}
    tag_keys, field_keys = json.loads(meta["tags"]), json.loads(meta["fields"])
    times = table.column("time").cast(pa.int64()).to_pylist()
    tags = {k: table.column(k).to_pylist() for k in tag_keys}
    fields = {k: table.column(k).to_pylist() for k in field_keys}

    def rows() -> Iterator[PointRow]:
        for i, t in enumerate(times):
            yield PointRow(t, {k: v[i] for k, v in tags.items() if v[i] is not None},
                           {k: v[i] for k, v in fields.items() if v[i] is not None})

    return meta["measurement"], rows()


def to_point(measurement: str, row: PointRow) -> Point:
    p = Point(measurement)
    for k, v in row.tags.items():
        p.tag(k, v)
    for k, v in row.fields.items():
        p.field(k, v)
    p.time(row.time_ns, WritePrecision.NS)
    return p
