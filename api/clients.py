"""Integration clients for ``grant_type=client_credentials``: name, scopes, data scope, hashed secret.

A client is made by an admin (``python -m api clients add``); its secret is printed once and
only its SHA-256 is kept - the secret is 32 random bytes, so a slow password hash adds nothing
(no dictionary to guess from). The data scope is one of: ``fleet`` (fleet ids), ``vehicle``
(vehicle ids), ``trader`` (prices only) or ``all`` (everything, as an admin). The file is JSON,
written atomically with mode 600, like the users file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, get_args

from access.scope import Scope

DataScopeKind = Literal["fleet", "vehicle", "trader", "all"]
KINDS: tuple[str, ...] = get_args(DataScopeKind)

# Which OAuth scopes a client of each data-scope kind may hold.
KIND_SCOPES: dict[str, frozenset[str]] = {
    "fleet": frozenset({"fleet:read", "fleet:write"}),
    "vehicle": frozenset({"fleet:read"}),
    "trader": frozenset({"crypto:read", "wallet:read", "wallet:write"}),
    "all": frozenset({"fleet:read", "fleet:write", "crypto:read", "wallet:read", "wallet:write", "admin"}),
}


class ClientsFileError(ValueError):
    """The clients file or an entry is malformed, or a new client is inconsistent."""


@dataclass(frozen=True)
class Client:
    """One integration; ``ids`` are fleet ids (kind fleet) or vehicle ids (kind vehicle)."""

    client_id: str
    name: str
    kind: DataScopeKind
    scopes: tuple[str, ...]
    secret_sha256: str
    ids: tuple[str, ...] = field(default_factory=tuple)

    def data_scope(self) -> Scope:
        """The same Scope model as a dashboard user's."""
        if self.kind == "fleet":
            return Scope(fleets=frozenset(self.ids))
        if self.kind == "vehicle":
            return Scope(vehicles=frozenset(self.ids))
        if self.kind == "trader":
            return Scope(prices=True)
        return Scope(all_fleets=True, prices=True, admin="admin" in self.scopes)

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(_digest(secret), self.secret_sha256)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_client(name: str, kind: str, scopes: list[str], ids: list[str]) -> tuple[Client, str]:
    """A checked client and its secret (shown once)."""
    if not name.strip():
        raise ClientsFileError("a client needs a name")
    if kind not in KINDS:
        raise ClientsFileError(f"unknown data scope {kind!r}; one of {', '.join(KINDS)}")
    if kind in ("fleet", "vehicle") and not ids:
        raise ClientsFileError(f"a {kind} client needs --ids")
    if kind in ("trader", "all") and ids:
        raise ClientsFileError(f"a {kind} client takes no --ids")
    wanted = frozenset(scopes)
    not_allowed = sorted(wanted - KIND_SCOPES[kind])
    if not wanted or not_allowed:
        raise ClientsFileError(f"scopes for a {kind} client: some of {', '.join(sorted(KIND_SCOPES[kind]))}"
                               + (f" (not {', '.join(not_allowed)})" if not_allowed else ""))
    secret = secrets.token_urlsafe(32)
    client = Client(client_id="tt_" + secrets.token_hex(8), name=name.strip(), kind=kind,  # type: ignore[arg-type]
                    scopes=tuple(sorted(wanted)), secret_sha256=_digest(secret), ids=tuple(ids))
    return client, secret


def load_clients(path: Path) -> dict[str, Client]:
    """All clients by id; a missing file means none."""
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        entries = doc["clients"]
        return {cid: Client(client_id=cid, name=str(e["name"]), kind=e["kind"], scopes=tuple(e["scopes"]),
                            secret_sha256=str(e["secret_sha256"]), ids=tuple(e.get("ids", ())))
                for cid, e in entries.items()}
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ClientsFileError(f"{path}: expected {{\"clients\": {{id: {{name, kind, scopes, secret_sha256, ids}}}}}} ({exc!r})") from exc


def save_clients(path: Path, clients: dict[str, Client]) -> None:
    """Atomic write (temp file + rename), mode 600 before any byte is written."""
    doc = {"clients": {c.client_id: {k: v for k, v in asdict(c).items() if k != "client_id"}
                       for c in sorted(clients.values(), key=lambda c: c.client_id)}}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates mode 600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)
