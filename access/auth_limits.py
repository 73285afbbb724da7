"""Failed sign-ins counted per user name and per client, in one sqlite file for every session.

A per-session counter is reset by opening a new browser tab; this one is shared by all
Streamlit sessions and dashboard processes that point at the same file (``var/`` by default).
``max_per_user`` failures for one name within ``window_s`` - whether the name exists or not -
lock that name for ``lockout_s``; ``max_per_client`` failures from one client lock the client.
While locked, no password is checked at all. A success clears the name's failures (not the
client's, so one valid account cannot reset the count of guesses against others).

Names and clients are stored as SHA-256 digests only: people type passwords into the name field.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from access.private_sqlite import connect_private

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS failures (key TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS failures_by_key ON failures (key, at)",
    "CREATE TABLE IF NOT EXISTS lockouts (key TEXT PRIMARY KEY, until REAL NOT NULL)",
)


@dataclass(frozen=True)
class SignInLimits:
    """How many failures within which window lock what for how long."""

    max_per_user: int
    max_per_client: int
    window_s: float
    lockout_s: float


def _key(kind: str, value: str) -> str:
    return f"{kind}:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


class SignInLimiter:
    """The shared counter; every call opens its own connection (safe across threads and processes)."""

    def __init__(self, path: Path, limits: SignInLimits) -> None:
        self.path = path
        self.limits = limits

    def _connect(self) -> sqlite3.Connection:
        return connect_private(self.path, _SCHEMA)

    def _keys(self, user_name: str, client: str) -> list[tuple[str, int]]:
        return [(_key("user", user_name.strip()), self.limits.max_per_user),
                (_key("client", client), self.limits.max_per_client)]

    def locked_for(self, user_name: str, client: str, now: float | None = None) -> float:
        """Seconds until the name and the client may try again; 0 when neither is locked."""
        now = time.time() if now is None else now
        keys = [k for k, _ in self._keys(user_name, client)]
        conn = self._connect()
        try:
            row = conn.execute("SELECT MAX(until) FROM lockouts WHERE key IN (?, ?) AND until > ?", (*keys, now)).fetchone()
        finally:
            conn.close()
        return max(0.0, row[0] - now) if row and row[0] is not None else 0.0

    def record_failure(self, user_name: str, client: str, now: float | None = None) -> float:
        """Count one failure for the name and the client; returns ``locked_for`` afterwards."""
        now = time.time() if now is None else now
        since = now - self.limits.window_s
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM failures WHERE at <= ?", (since,))
            conn.execute("DELETE FROM lockouts WHERE until <= ?", (now,))
            for key, limit in self._keys(user_name, client):
                conn.execute("INSERT INTO failures (key, at) VALUES (?, ?)", (key, now))
                (count,) = conn.execute("SELECT COUNT(*) FROM failures WHERE key = ? AND at > ?", (key, since)).fetchone()
                if count >= limit:
                    conn.execute("INSERT OR REPLACE INTO lockouts (key, until) VALUES (?, ?)", (key, now + self.limits.lockout_s))
                    conn.execute("DELETE FROM failures WHERE key = ?", (key,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()
        return self.locked_for(user_name, client, now)

    def record_success(self, user_name: str) -> None:
        """Forget the name's failures (the client's stay counted)."""
        conn = self._connect()
        try:
            conn.execute("DELETE FROM failures WHERE key = ?", (_key("user", user_name.strip()),))
        finally:
            conn.close()
