"""Avro encoding of records on Kafka, with the schemas kept in ``schemas/*.avsc``.

There is no schema registry in the stack: records are written schemaless (fastavro) and
carry a ``schema`` header naming the ``.avsc`` and its version, so any consumer with the
repo's schemas can read them. See docs/kafka-topics.md.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastavro

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
TELEMETRY_SCHEMA_HEADER = ("schema", b"ticktrack.fleet.Telemetry/1")


@lru_cache(maxsize=None)
def load_schema(name: str) -> Any:
    """Parse ``schemas/<name>.avsc`` once."""
    return fastavro.parse_schema(json.loads((SCHEMA_DIR / f"{name}.avsc").read_text()))


def encode(schema_name: str, record: dict[str, Any]) -> bytes:
    """One record -> schemaless Avro bytes (raises on a record that does not fit the schema)."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, load_schema(schema_name), record)
    return buf.getvalue()


def decode(schema_name: str, data: bytes) -> dict[str, Any]:
    """Schemaless Avro bytes -> the record dict."""
    return fastavro.schemaless_reader(io.BytesIO(data), load_schema(schema_name))
