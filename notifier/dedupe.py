"""Persistent delivery log: the memory that makes a replay or a restart send nothing twice.

Keyed (alert_id, channel, target), where ``alert_id`` holds the incident notice the message
tells of (``notifier.alert.notice_key``: the incident id for its raise - the raising record's
alert id -, ``<incident_id>/escalated`` or ``/cleared``), so one incident raise, escalation or
clear reaches each target once whatever records carry it. A key whose status is final (``sent``, ``failed``,
``expired``) is never attempted again; a ``pending`` key (the process stopped mid-delivery)
resumes with the attempts it already used. Each attempt is kept with its outcome for audit.
SQLite in WAL mode with full sync: a ``sent`` row survives a crash right after it is written.
The only duplicate left is a crash between the receiver accepting and this row being written;
webhooks get an ``Idempotency-Key`` and emails a stable Message-ID for exactly that case.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

PENDING, SENT, FAILED, EXPIRED = "pending", "sent", "failed", "expired"
FINAL_STATUSES = frozenset({SENT, FAILED, EXPIRED})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id    TEXT NOT NULL,
    channel     TEXT NOT NULL,
    target      TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    vehicle_id  TEXT,
    alert_type  TEXT,
    recipients  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    last_error  TEXT,
    PRIMARY KEY (alert_id, channel, target)
);
CREATE INDEX IF NOT EXISTS deliveries_updated ON deliveries (updated_at);
CREATE TABLE IF NOT EXISTS attempts (
    alert_id TEXT NOT NULL,
    channel  TEXT NOT NULL,
    target   TEXT NOT NULL,
    attempt  INTEGER NOT NULL,
    at       TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    detail   TEXT,
    PRIMARY KEY (alert_id, channel, target, attempt)
);
"""


class DeliveryKey(NamedTuple):
    """What must never be sent twice: this alert, on this channel, to this target."""

    alert_id: str
    channel: str
    target: str


@dataclass(frozen=True)
class DeliveryState:
    status: str
    attempts: int
    last_error: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class DeliveryLog:
    """SQLite-backed log; use from one thread (the notifier's main loop)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DeliveryLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, key: DeliveryKey) -> DeliveryState | None:
        row = self._db.execute("SELECT status, attempts, last_error FROM deliveries WHERE alert_id=? AND channel=? AND target=?",
                               key).fetchone()
        return None if row is None else DeliveryState(*row)

    def claim(self, key: DeliveryKey, *, vehicle_id: str | None = None, alert_type: str | None = None,
              recipients: str | None = None) -> DeliveryState:
        """The state of ``key``, creating it as ``pending`` with 0 attempts when new."""
        now = _now()
        self._db.execute(
            "INSERT OR IGNORE INTO deliveries (alert_id, channel, target, status, attempts, vehicle_id, alert_type,"
            " recipients, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
            (*key, PENDING, vehicle_id, alert_type, recipients, now, now))
        state = self.get(key)
        assert state is not None
        return state

    def record_attempt(self, key: DeliveryKey, attempt: int, outcome: str, detail: str = "") -> None:
        """Keep one attempt and bump the delivery's attempt count, in one transaction."""
        now = _now()
        with self._tx():
            self._db.execute("INSERT OR REPLACE INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?)", (*key, attempt, now, outcome, detail))
            self._db.execute("UPDATE deliveries SET attempts=MAX(attempts, ?), updated_at=?, last_error=? "
                             "WHERE alert_id=? AND channel=? AND target=?",
                             (attempt, now, None if outcome == SENT else detail, *key))

    def finish(self, key: DeliveryKey, status: str, detail: str | None = None) -> None:
        """Set a final status (creating the row if needed, e.g. for an expired alert)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final status: {status!r}")
        now = _now()
        with self._tx():
            self._db.execute(
                "INSERT OR IGNORE INTO deliveries (alert_id, channel, target, status, attempts, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 0, ?, ?)", (*key, status, now, now))
            self._db.execute("UPDATE deliveries SET status=?, updated_at=?, last_error=COALESCE(?, last_error) "
                             "WHERE alert_id=? AND channel=? AND target=?", (status, now, detail, *key))

    def attempts(self, key: DeliveryKey) -> list[tuple[int, str, str]]:
        """(attempt, outcome, detail) of every attempt at ``key``, in order."""
        return list(self._db.execute("SELECT attempt, outcome, detail FROM attempts WHERE alert_id=? AND channel=? AND target=?"
                                     " ORDER BY attempt", key))

    def counts(self) -> dict[str, int]:
        """Number of deliveries per status."""
        return dict(self._db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())

    def prune(self, older_than: timedelta) -> int:
        """Forget final deliveries not touched for ``older_than``; keep it above the topic retention
        or a replay of an old alert would be sent again."""
        cutoff = (datetime.now(UTC) - older_than).isoformat(timespec="milliseconds")
        with self._tx():
            self._db.execute("DELETE FROM attempts WHERE (alert_id, channel, target) IN (SELECT alert_id, channel, target"
                             " FROM deliveries WHERE updated_at < ? AND status != ?)", (cutoff, PENDING))
            cur = self._db.execute("DELETE FROM deliveries WHERE updated_at < ? AND status != ?", (cutoff, PENDING))
        return cur.rowcount

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def delivery_id(key: DeliveryKey) -> str:
    """Stable id of a delivery, sent to receivers (Idempotency-Key, Message-ID) so they can
    drop the one duplicate this log cannot prevent."""
    return hashlib.sha256("|".join(key).encode("utf-8")).hexdigest()[:32]
