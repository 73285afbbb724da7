"""Where a daily backup lives and how its files are named, plus the manifest of finished files.

    <out>/<bucket>/<YYYY-MM-DD>/<measurement>/<exchange>/<BASE-QUOTE>.parquet
    <out>/<bucket>/<YYYY-MM-DD>/manifest.json

A file holds one measurement's points of one day for one value of each *partition tag* (crypto:
``exchange`` then ``symbol``; fleet: ``fleet_id`` then ``vehicle_id``; any other bucket: its tags in
name order). The last partition tag names the file, the others are directories; a measurement that
lacks a tag (``spreads`` has no exchange) uses ``_all`` there. ``/`` and ``:`` of a symbol become
``-`` and ``_`` (``BTC/USDT`` -> ``BTC-USDT``); the real values are columns of the file.

The manifest (written atomically after every file) maps a relative path to its rows and sha256:
a file listed there and present with that hash is complete; anything else is (re)written.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

PARTITION_TAGS: dict[str, tuple[str, ...]] = {"crypto": ("exchange", "symbol"), "fleet": ("fleet_id", "vehicle_id")}
MISSING = "_all"
MANIFEST = "manifest.json"


def partition_tags(bucket: str, tag_keys: set[str]) -> tuple[str, ...]:
    """The tags that split a measurement into files."""
    return PARTITION_TAGS.get(bucket) or tuple(sorted(tag_keys))


def safe_name(value: str | None) -> str:
    """A tag value as one path segment."""
    if value is None:
        return MISSING
    text = value.replace("/", "-").replace(":", "_").replace(os.sep, "-")
    return "_" + text if text in ("", ".", "..") or text.startswith(".") else text


def relative_path(measurement: str, values: tuple[str | None, ...]) -> str:
    """``quotes/binance/BTC-USDT.parquet`` for (``binance``, ``BTC/USDT``)."""
    parts = [safe_name(measurement), *(safe_name(v) for v in values)]
    return "/".join(parts) + ".parquet"


def day_dir(out: Path, bucket: str, day: date) -> Path:
    return out / bucket / day.isoformat()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Manifest:
    """Finished files of one backup day: ``{relative path: {"rows", "sha256", "measurement", "tags"}}``."""

    path: Path
    bucket: str
    day: str
    files: dict[str, dict[str, Any]]
    complete: bool = False

    @classmethod
    def load(cls, directory: Path, bucket: str, day: date) -> Manifest:
        path = directory / MANIFEST
        if path.exists():
            doc = json.loads(path.read_text())
            return cls(path, doc["bucket"], doc["day"], doc["files"], doc.get("complete", False))
        return cls(path, bucket, day.isoformat(), {})

    def is_done(self, relative: str) -> bool:
        entry = self.files.get(relative)
        target = self.path.parent / relative
        return entry is not None and target.exists() and sha256_of(target) == entry["sha256"]

    def save(self) -> None:
        """Atomic: a crash leaves the previous manifest, never half a file."""
        doc = {"bucket": self.bucket, "day": self.day, "format": "parquet", "complete": self.complete,
               "files": dict(sorted(self.files.items()))}
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path)
