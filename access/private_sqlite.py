"""A small sqlite file only this user may read (sign-in failures, refresh tokens).

Every call opens its own connection, so the stores are safe across threads and processes."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path


def connect_private(path: Path, schema: Iterable[str]) -> sqlite3.Connection:
    """Open ``path`` (autocommit, 10 s busy timeout) with ``schema`` applied; a new file is created
    mode 600 before sqlite writes a byte (its journal files copy this mode)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    for statement in schema:
        conn.execute(statement)
    return conn
