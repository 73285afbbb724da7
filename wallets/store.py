"""The wallet database: accounts, their ledger and their encrypted API keys (SQLAlchemy Core + Alembic).

SQLite in WAL mode is the embedded default (readers never wait for the writer; a new file is
made mode 600 before SQLite writes to it); any SQLAlchemy URL works (PostgreSQL with a driver).
Opening a store migrates the schema to the newest Alembic revision. Every write is one
transaction that first replays the whole affected ledger with the new entries
(``rules.wallet.ledger``): an entry that would make a balance negative, names an unknown asset
or is malformed raises ``WalletError`` naming its row, and nothing of the batch is stored.
Every read takes a ``WalletScope``, so a caller sees only the wallets its user may see.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from contracts.wallet import ACCOUNT_KINDS, Account, AccountKind, LedgerEntry
from rules.wallet.ledger import LedgerError, Position, replay

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

metadata = sa.MetaData()
accounts_t = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("owner", sa.String), sa.Column("name", sa.String),
    sa.Column("kind", sa.String), sa.Column("exchange", sa.String), sa.Column("created_ms", sa.BigInteger))
entries_t = sa.Table(
    "entries", metadata,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("account_id", sa.Integer), sa.Column("ts_ms", sa.BigInteger),
    sa.Column("kind", sa.String), sa.Column("asset", sa.String), sa.Column("quantity", sa.Float), sa.Column("price", sa.Float),
    sa.Column("quote", sa.String), sa.Column("fee", sa.Float), sa.Column("fee_asset", sa.String), sa.Column("ref", sa.String),
    sa.Column("note", sa.String), sa.Column("source", sa.String), sa.Column("created_ms", sa.BigInteger))
keys_t = sa.Table(
    "api_keys", metadata,
    sa.Column("account_id", sa.Integer, primary_key=True), sa.Column("ciphertext", sa.LargeBinary), sa.Column("created_ms", sa.BigInteger))


class WalletError(ValueError):
    """A wallet operation refused; the message names the row or the account."""


@dataclass(frozen=True)
class WalletScope:
    """Whose wallets a caller sees: one owner's (a trader), every owner's (an admin, read only), or none."""

    owner: str | None = None
    all_owners: bool = False

    def sees(self, owner: str) -> bool:
        return self.all_owners or (self.owner is not None and owner == self.owner)


@dataclass(frozen=True)
class StoredEntry:
    """A ledger entry with its id and where it came from (``csv:<file>``, ``ccxt:<exchange>``, ``dashboard``, ``api``)."""

    entry_id: int
    account_id: int
    entry: LedgerEntry
    source: str


@dataclass(frozen=True)
class NewEntry:
    """An entry to add to ``account_id``; ``label`` names it in errors (``row 7``)."""

    account_id: int
    label: str
    entry: LedgerEntry


def _now_ms() -> int:
    return int(time.time() * 1000)


def _sqlite_file(url: sa.URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def open_engine(db_url: str) -> Engine:
    """An engine on ``db_url``; SQLite gets WAL, foreign keys, a busy timeout and a mode-600 file."""
    url = sa.make_url(db_url)
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    engine = sa.create_engine(url, connect_args={"timeout": 10} if path is not None else {})
    if url.get_backend_name() == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it is there)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _entry(row: sa.Row[Any]) -> LedgerEntry:
    return LedgerEntry(ts_ms=row.ts_ms, kind=row.kind, asset=row.asset, quantity=row.quantity, price=row.price, quote=row.quote,
                       fee=row.fee, fee_asset=row.fee_asset, ref=row.ref, note=row.note)


def _account(row: sa.Row[Any]) -> Account:
    return Account(account_id=row.id, owner=row.owner, name=row.name, kind=row.kind, exchange=row.exchange)


class WalletStore:
    """Accounts, ledgers and keys in one database; ``currency`` and ``known_assets`` bound for the checks."""

    def __init__(self, engine: Engine, currency: str, known_assets: Iterable[str]) -> None:
        self.engine = engine
        self.currency = currency
        self.known_assets = frozenset(known_assets)

    @classmethod
    def open(cls, db_url: str, currency: str, known_assets: Iterable[str]) -> WalletStore:
        """Open (creating and migrating as needed) the database at ``db_url``."""
        engine = open_engine(db_url)
        migrate(engine)
        return cls(engine, currency, known_assets)

    # ------------------------------------------------------------ accounts

    def create_account(self, owner: str, name: str, kind: AccountKind = "wallet", exchange: str | None = None) -> Account:
        """A new account of ``owner``; the name is unique per owner."""
        if kind not in ACCOUNT_KINDS:
            raise WalletError(f"account kind must be one of {', '.join(ACCOUNT_KINDS)}, not {kind!r}")
        if not owner or not name.strip():
            raise WalletError("an account needs an owner and a name")
        if kind == "exchange" and not exchange:
            raise WalletError("an exchange account needs the ccxt id of its exchange")
        with self.engine.begin() as conn:
            if conn.execute(sa.select(accounts_t.c.id).where(accounts_t.c.owner == owner, accounts_t.c.name == name)).first():
                raise WalletError(f"{owner} already has an account named {name!r}")
            new_id = conn.execute(accounts_t.insert().values(owner=owner, name=name, kind=kind, exchange=exchange,
                                                             created_ms=_now_ms()).returning(accounts_t.c.id)).scalar_one()
        return Account(int(new_id), owner, name, kind, exchange)

    def accounts(self, scope: WalletScope) -> list[Account]:
        """The accounts the scope sees, by owner and name."""
        q = sa.select(accounts_t).order_by(accounts_t.c.owner, accounts_t.c.name)
        if not scope.all_owners:
            if scope.owner is None:
                return []
            q = q.where(accounts_t.c.owner == scope.owner)
        with self.engine.connect() as conn:
            return [_account(r) for r in conn.execute(q)]

    def account(self, scope: WalletScope, account_id: int) -> Account:
        """One account the scope sees; any other id (foreign or unknown) is the same ``WalletError``."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(accounts_t).where(accounts_t.c.id == account_id)).first()
        if row is None or not scope.sees(row.owner):
            raise WalletError(f"no account {account_id}")
        return _account(row)

    def account_named(self, owner: str, name: str) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(accounts_t).where(accounts_t.c.owner == owner, accounts_t.c.name == name)).first()
        return None if row is None else _account(row)

    # ------------------------------------------------------------ ledger

    def entries(self, scope: WalletScope, account_id: int) -> list[StoredEntry]:
        """The ledger of one account in replay order (time, then insertion)."""
        self.account(scope, account_id)
        with self.engine.connect() as conn:
            return self._entries(conn, account_id)

    def _entries(self, conn: Connection, account_id: int) -> list[StoredEntry]:
        rows = conn.execute(sa.select(entries_t).where(entries_t.c.account_id == account_id).order_by(entries_t.c.ts_ms, entries_t.c.id))
        return [StoredEntry(r.id, r.account_id, _entry(r), r.source) for r in rows]

    def positions(self, scope: WalletScope, account_id: int) -> dict[str, Position]:
        """Balances, cost and realized P&L per asset of one account."""
        return replay([s.entry for s in self.entries(scope, account_id)], self.currency, self.known_assets)

    def add_entries(self, new: Sequence[NewEntry], source: str) -> int:
        """Add ``new`` in one transaction, or nothing; entries whose ``ref`` the account already has are
        skipped (a repeated import). Returns how many were added. ``WalletError`` names the failing row."""
        with self.engine.begin() as conn:
            return self._add_entries(conn, new, source)

    def import_rows(self, owner: str, rows: Sequence[tuple[str, str, LedgerEntry]], source: str, create_accounts: bool) -> int:
        """``(account name, label, entry)`` rows of ``owner`` in one transaction: missing accounts are
        created (kind wallet) when ``create_accounts``, else the first row naming one is the error."""
        with self.engine.begin() as conn:
            ids: dict[str, int] = {}
            for name, label, _ in rows:
                if name in ids:
                    continue
                found = conn.execute(sa.select(accounts_t.c.id).where(accounts_t.c.owner == owner, accounts_t.c.name == name)).scalar()
                if found is None:
                    if not create_accounts:
                        raise WalletError(f"{label}: {owner} has no account named {name!r} (create it, or import with --create-accounts)")
                    if not name.strip():
                        raise WalletError(f"{label}: the account name is empty")
                    found = conn.execute(accounts_t.insert().values(owner=owner, name=name, kind="wallet", exchange=None,
                                                                    created_ms=_now_ms()).returning(accounts_t.c.id)).scalar_one()
                ids[name] = int(found)
            return self._add_entries(conn, [NewEntry(ids[name], label, e) for name, label, e in rows], source)

    def _add_entries(self, conn: Connection, new: Sequence[NewEntry], source: str) -> int:
        added = 0
        for account_id in sorted({n.account_id for n in new}):
            existing = self._entries(conn, account_id)
            refs = {s.entry.ref for s in existing if s.entry.ref}
            fresh: list[NewEntry] = []
            for n in new:
                if n.account_id != account_id or (n.entry.ref and n.entry.ref in refs):
                    continue
                if n.entry.ref:
                    refs.add(n.entry.ref)
                fresh.append(n)
            labelled = [(f"ledger entry #{s.entry_id} (already stored)", s.entry) for s in existing]
            labelled += [(n.label, n.entry) for n in fresh]
            labelled.sort(key=lambda le: le[1].ts_ms)  # stable: stored entries before new ones at the same time
            try:
                replay([le[1] for le in labelled], self.currency, self.known_assets)
            except LedgerError as exc:
                raise WalletError(f"{labelled[exc.index][0]}: {exc.reason}") from None
            if fresh:
                now = _now_ms()
                conn.execute(entries_t.insert(), [{"account_id": account_id, **n.entry.to_dict(), "source": source, "created_ms": now}
                                                  for n in fresh])
            added += len(fresh)
        return added

    # ------------------------------------------------------------ API keys

    def set_api_key(self, account_id: int, ciphertext: bytes) -> None:
        """Store (or replace) the encrypted API key of an exchange account."""
        with self.engine.begin() as conn:
            kind = conn.execute(sa.select(accounts_t.c.kind).where(accounts_t.c.id == account_id)).scalar()
            if kind != "exchange":
                raise WalletError(f"account {account_id} is not an exchange account: it takes no API key")
            conn.execute(keys_t.delete().where(keys_t.c.account_id == account_id))
            conn.execute(keys_t.insert().values(account_id=account_id, ciphertext=ciphertext, created_ms=_now_ms()))

    def api_key_added_ms(self, scope: WalletScope, account_id: int) -> int | None:
        """When the account's key was stored (None: no key) - the only thing ever shown of a key."""
        self.account(scope, account_id)
        with self.engine.connect() as conn:
            return conn.execute(sa.select(keys_t.c.created_ms).where(keys_t.c.account_id == account_id)).scalar()

    def api_key_ciphertext(self, account_id: int) -> bytes | None:
        """The encrypted key, for the exchange import only (not scoped: never reachable from a page or endpoint)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(keys_t.c.ciphertext).where(keys_t.c.account_id == account_id)).scalar()
