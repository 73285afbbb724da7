"""The users file: who may sign in, with which role and which fleets / vehicles - one store for dashboard and API.

The file keeps bcrypt hashes only, never a password. It is edited with the CLI in
``dashboard.users`` (``python -m dashboard.users add ...``); the dashboard's sign-in and the
API's ``grant_type=password`` both read it through ``load_users`` / ``check_password``.
The path is ``DASHBOARD_USERS_FILE`` (default ``config/dashboard-users.json``).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, get_args

import bcrypt

Role = Literal["admin", "fleet_manager", "viewer", "parent", "trader"]
ROLES: tuple[str, ...] = get_args(Role)
# bcrypt only reads the first 72 bytes; longer passwords are refused instead of truncated.
MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_CHARS = 8


class UsersFileError(ValueError):
    """The users file or a user entry is malformed; the message says what to fix."""


@dataclass(frozen=True)
class User:
    """One account. ``fleets`` matter for fleet managers, ``vehicles`` for viewers / parents."""

    name: str
    role: Role
    password_hash: str
    fleets: tuple[str, ...] = field(default_factory=tuple)
    vehicles: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise UsersFileError("a user needs a name")
        if self.role not in ROLES:
            raise UsersFileError(f"user {self.name!r}: unknown role {self.role!r}; one of {', '.join(ROLES)}")
        if not self.password_hash.startswith("$2"):
            raise UsersFileError(f"user {self.name!r}: password_hash is not a bcrypt hash")


def hash_password(password: str, rounds: int = 12) -> str:
    """bcrypt hash of a password; refuses what bcrypt would silently truncate."""
    raw = password.encode("utf-8")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise ValueError(f"password must be at most {MAX_PASSWORD_BYTES} bytes (bcrypt limit)")
    return bcrypt.hashpw(raw, bcrypt.gensalt(rounds=rounds)).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    """True when the password matches; any malformed input is simply a mismatch."""
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("ascii"))
    except (ValueError, TypeError):
        return False


# Compared against when the name is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = "$2b$12$C5xMcipjJPXLy00.wIGTfu0pvaPuyg8sJpGiRvyRvIvDG1B8E.9xC"


def verify(users: dict[str, User], name: str, password: str) -> User | None:
    """The user when name and password match, else None (constant work either way)."""
    user = users.get(name.strip())
    ok = check_password(password, user.password_hash if user else _DUMMY_HASH)
    return user if (user is not None and ok) else None


def _user_from_json(name: str, entry: object) -> User:
    if not isinstance(entry, dict):
        raise UsersFileError(f"user {name!r}: entry must be an object")
    return User(
        name=name,
        role=entry.get("role", ""),
        password_hash=str(entry.get("password_hash", "")),
        fleets=tuple(str(f) for f in entry.get("fleets", []) or []),
        vehicles=tuple(str(v) for v in entry.get("vehicles", []) or []),
    )


def load_users(path: Path) -> dict[str, User]:
    """All users of the file; a missing file means no users (nobody can sign in)."""
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsersFileError(f"{path}: not JSON ({exc})") from exc
    users = doc.get("users", {}) if isinstance(doc, dict) else None
    if not isinstance(users, dict):
        raise UsersFileError(f'{path}: expected {{"users": {{name: {{...}}}}}}')
    return {name: _user_from_json(name, entry) for name, entry in users.items()}


def save_users(path: Path, users: dict[str, User]) -> None:
    """Write atomically (temp file + rename) so a running dashboard never reads half a file."""
    doc = {"users": {u.name: {k: v for k, v in asdict(u).items() if k != "name"} for u in sorted(users.values(), key=lambda u: u.name)}}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def make_user(name: str, role: str, password: str, fleets: list[str], vehicles: list[str], rounds: int = 12) -> User:
    """A checked user: a fleet manager needs fleets, a viewer / parent vehicles."""
    if role == "fleet_manager" and not fleets:
        raise UsersFileError("a fleet_manager needs --fleets")
    if role in ("viewer", "parent") and not vehicles:
        raise UsersFileError(f"a {role} needs --vehicles")
    return User(name=name, role=role, password_hash=hash_password(password, rounds),  # type: ignore[arg-type]
                fleets=tuple(fleets), vehicles=tuple(vehicles))
