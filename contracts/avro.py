"""Avro encoding of records on Kafka, with the schemas kept in ``schemas/*.avsc``.

There is no schema registry in the stack: records are written schemaless (fastavro) and
carry a ``schema`` header naming the record and its version (``ticktrack.fleet.Telemetry/2``),
so any consumer with the repo's schemas can read them. Schemaless bytes can only be read with
the schema that wrote them: an older version stays in ``schemas/<name>.v<N>.avsc`` and
``decode`` reads such a record with it as writer and the current schema as reader (Avro
schema resolution fills the newer fields from their defaults). See docs/kafka-topics.md.

``encode`` writes the union fields in fastavro's tuple notation (``("double", 12.5)``): without it
fastavro tries each branch of every ``["null", X]`` field against the value per record, ~a third of
the encode's cost (bench/README.md "Cost model"). The bytes are the same (tests/unit/test_avro_encode.py).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
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
            version = _version_in(value)
            if version is not None:
                return version
    return None


@lru_cache(maxsize=256)
def _version_in(value: bytes) -> int | None:
    """Parsed once per distinct header value: every record of a topic carries the same few
    (1.4% of the analytics flow's samples went to parsing it per record, py-spy, 2026-12-03)."""
    _, _, version = value.decode("utf-8", "replace").rpartition("/")
    return int(version) if version.isdigit() else None


# Branches written by name without fastavro checking the value against them: each of these
# raises in fastavro's writer on a value of another type, as resolution would. Booleans are left to
# resolution (fastavro writes any truthy value as true under a named boolean branch).
_NAMED_BRANCHES = {"double", "float", "long", "int", "string", "bytes"}

_Prepare = Callable[[dict[str, Any]], dict[str, Any]]


def _named_unions(record_schema: dict[str, Any]) -> _Prepare:
    """A function giving a record of ``record_schema`` with every non-null value of a ``["null", X]``
    field as ``(X's name, value)`` - nested records too - so fastavro skips resolving the union.
    Fields missing from the record stay missing (fastavro then writes their default, as before)."""
    plan: list[tuple[str, str, _Prepare | None]] = []
    for field in record_schema["fields"]:
        branches = field["type"]
        if not (isinstance(branches, list) and len(branches) == 2 and "null" in branches):
            continue
        (branch,) = [b for b in branches if b != "null"]
        if isinstance(branch, str) and branch in _NAMED_BRANCHES:
            plan.append((field["name"], branch, None))
        elif isinstance(branch, dict) and branch.get("type") == "record":
            plan.append((field["name"], branch["name"], _named_unions(branch)))

    def prepare(record: dict[str, Any]) -> dict[str, Any]:
        out = dict(record)
        for name, branch_name, nested in plan:
            value = record.get(name)
            if value is not None:
                out[name] = (branch_name, value if nested is None else nested(value))
        return out

    return prepare


@cache
def _prepare_for(schema_name: str) -> _Prepare:
    return _named_unions(load_schema(schema_name))


def encode(schema_name: str, record: dict[str, Any]) -> bytes:
    """One record -> schemaless Avro bytes (raises on a record that does not fit the schema)."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, load_schema(schema_name), _prepare_for(schema_name)(record))
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
