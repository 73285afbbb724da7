"""Refresh tokens: opaque, stored as SHA-256 in one sqlite file, rotated on every use, revocable.

Each use revokes the token and issues its successor in the same *family*. Presenting a token
that was already used or revoked revokes the whole family (a stolen token and its thief's
successors stop together - OAuth 2.0 Security BCP, RFC 9700 section 4.14.2). ``revoke`` (the
``/v1/oauth/revoke`` endpoint, RFC 7009) and ``revoke_subject`` (the admin CLI) end families.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from access.private_sqlite import connect_private

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS refresh_tokens (digest TEXT PRIMARY KEY, family TEXT NOT NULL, subject TEXT NOT NULL,"
    " scopes TEXT NOT NULL, expires REAL NOT NULL, revoked REAL)",
    "CREATE INDEX IF NOT EXISTS refresh_by_family ON refresh_tokens (family)",
    "CREATE INDEX IF NOT EXISTS refresh_by_subject ON refresh_tokens (subject)",
)


class RefreshError(ValueError):
    """Unknown, expired, used or revoked refresh token (the endpoint answers invalid_grant)."""


@dataclass(frozen=True)
class RefreshGrant:
    subject: str
    scopes: frozenset[str]
    family: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class RefreshStore:
    """The sqlite file; every call opens its own connection (safe across threads and processes)."""

    def __init__(self, path: Path, ttl_s: float) -> None:
        self.path = path
        self.ttl_s = ttl_s

    def _connect(self) -> sqlite3.Connection:
        return connect_private(self.path, _SCHEMA)

    def _insert(self, conn: sqlite3.Connection, subject: str, scopes: frozenset[str], family: str, now: float) -> str:
        token = secrets.token_urlsafe(32)
        conn.execute("INSERT INTO refresh_tokens (digest, family, subject, scopes, expires, revoked) VALUES (?, ?, ?, ?, ?, NULL)",
                     (_digest(token), family, subject, " ".join(sorted(scopes)), now + self.ttl_s))
        return token

    def issue(self, subject: str, scopes: frozenset[str], now: float | None = None) -> str:
        """A new token of a new family."""
        conn = self._connect()
        try:
            return self._insert(conn, subject, scopes, secrets.token_hex(8), time.time() if now is None else now)
        finally:
            conn.close()

    def rotate(self, token: str, now: float | None = None) -> tuple[RefreshGrant, str]:
        """What the token granted and its successor; the token itself is spent."""
        now = time.time() if now is None else now
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT family, subject, scopes, expires, revoked FROM refresh_tokens WHERE digest = ?",
                               (_digest(token),)).fetchone()
            if row is None:
                conn.execute("ROLLBACK")
                raise RefreshError("unknown refresh token")
            family, subject, scopes, expires, revoked = row
            if revoked is not None:
                conn.execute("UPDATE refresh_tokens SET revoked = ? WHERE family = ? AND revoked IS NULL", (now, family))
                conn.execute("COMMIT")
                raise RefreshError("refresh token already used or revoked; its family is revoked")
            if expires <= now:
                conn.execute("ROLLBACK")
                raise RefreshError("refresh token expired")
            conn.execute("UPDATE refresh_tokens SET revoked = ? WHERE digest = ?", (now, _digest(token)))
            grant = RefreshGrant(subject, frozenset(scopes.split()), family)
            successor = self._insert(conn, subject, grant.scopes, family, now)
            conn.execute("COMMIT")
            return grant, successor
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def revoke(self, token: str, now: float | None = None) -> bool:
        """Revoke the token's family; False when the token is unknown (RFC 7009 answers 200 anyway)."""
        now = time.time() if now is None else now
        conn = self._connect()
        try:
            row = conn.execute("SELECT family FROM refresh_tokens WHERE digest = ?", (_digest(token),)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE refresh_tokens SET revoked = ? WHERE family = ? AND revoked IS NULL", (now, row[0]))
            return True
        finally:
            conn.close()

    def revoke_subject(self, subject: str, now: float | None = None) -> int:
        """Revoke every live refresh token of a user or client; how many."""
        now = time.time() if now is None else now
        conn = self._connect()
        try:
            cur = conn.execute("UPDATE refresh_tokens SET revoked = ? WHERE subject = ? AND revoked IS NULL", (now, subject))
            return cur.rowcount
        finally:
            conn.close()
