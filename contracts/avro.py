"""Avro encoding of records on Kafka, with the schemas kept in ``schemas/*.avsc``.

There is no schema registry in the stack: records are written schemaless (fastavro) and
carry a ``schema`` header naming the record and its version (``ticktrack.fleet.Telemetry/2``),
so any consumer with the repo's schemas can read them. Schemaless bytes can only be read with
the schema that wrote them: an older version stays in ``schemas/<name>.v<N>.avsc`` and
``decode`` reads such a record with it as writer and the current schema as reader (Avro
schema resolution fills the newer fields from their defaults). See docs/kafka-topics.md.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, cast

import fastavro

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
# Current version of each schema in SCHEMA_DIR (older versions: <name>.v<N>.avsc).
VERSIONS = {"telemetry": 2}
TELEMETRY_SCHEMA_HEADER = ("schema", b"ticktrack.fleet.Telemetry/2")


@cache
def load_schema(name: str, version: int | None = None) -> Any:
    """Parse ``schemas/<name>.avsc`` (or the older ``<name>.v<version>.avsc``) once."""
    current = version is None or version == VERSIONS.get(name)
    path = SCHEMA_DIR / (f"{name}.avsc" if current else f"{name}.v{version}.avsc")
    if not path.exists():
        raise ValueError(f"no Avro schema {name} version {version} ({path.name})")
    return fastavro.parse_schema(json.loads(path.read_text()))


def header_version(headers: Sequence[tuple[str, bytes | None]] | None) -> int | None:
    """The version in a ``schema`` header (``.../2`` -> 2); None without one."""
    for key, value in headers or ():
        if key == "schema" and value:
            _, _, version = value.decode("utf-8", "replace").rpartition("/")
            if version.isdigit():
                return int(version)
    return None


def encode(schema_name: str, record: dict[str, Any]) -> bytes:
    """One record -> schemaless Avro bytes (raises on a record that does not fit the schema)."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, load_schema(schema_name), record)
    return buf.getvalue()


def decode(schema_name: str, data: bytes, writer_version: int | None = None) -> dict[str, Any]:
    """Schemaless Avro bytes -> the record dict in the current schema's form.

    ``writer_version`` (from ``header_version``) names the schema that wrote ``data``;
    None = the current one."""
    reader = load_schema(schema_name)
    # every schema of schemas/ is a record, so fastavro reads a dict (its return type covers every Avro type)
    if writer_version is None or writer_version == VERSIONS.get(schema_name):
        return cast(dict[str, Any], fastavro.schemaless_reader(io.BytesIO(data), reader))
    return cast(dict[str, Any], fastavro.schemaless_reader(io.BytesIO(data), load_schema(schema_name, writer_version), reader))
