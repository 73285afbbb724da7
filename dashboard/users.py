"""The users file: who may sign in, with which role and which fleets / vehicles.

The file keeps bcrypt hashes only, never a password. It is edited with the CLI::

    python -m dashboard.users add alice --role fleet_manager --fleets north,south
    echo "$PW" | python -m dashboard.users add bob --role parent --vehicles car-7 --password-stdin
    python -m dashboard.users demo      # demo users from DASHBOARD_DEMO_PASSWORD
    python -m dashboard.users list | remove <name>

The path is ``DASHBOARD_USERS_FILE`` (default ``config/dashboard-users.json``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, get_args

import bcrypt

from dashboard.config import load_dashboard_settings

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


def _split(csv: str | None) -> list[str]:
    return [part.strip() for part in (csv or "").split(",") if part.strip()]


# Demo accounts: the passwords come from the environment, never from the repo.
DEMO_USERS: tuple[tuple[str, str], ...] = (
    ("admin", "admin"), ("manager", "fleet_manager"), ("parent", "parent"), ("trader", "trader"),
)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("passwords differ")
    return first


def main(argv: list[str] | None = None) -> int:
    """CLI entry: add / remove / list / demo."""
    parser = argparse.ArgumentParser(prog="python -m dashboard.users", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, help="users file (default: DASHBOARD_USERS_FILE)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add", help="add or replace a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--fleets", help="comma separated fleet ids (fleet_manager)")
    add.add_argument("--vehicles", help="comma separated vehicle ids (viewer / parent)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    rm = sub.add_parser("remove", help="remove a user")
    rm.add_argument("name")
    sub.add_parser("list", help="list users (no hashes)")
    demo = sub.add_parser("demo", help="create the demo users (admin, manager, parent, trader) "
                          "with the password in DASHBOARD_DEMO_PASSWORD")
    demo.add_argument("--fleet", default="logistics", help="fleet of the demo manager")
    demo.add_argument("--vehicle", default="family-car", help="vehicle of the demo parent")
    args = parser.parse_args(argv)

    settings = load_dashboard_settings()
    path: Path = args.file or settings.users_file
    try:
        users = load_users(path)
        if args.cmd == "add":
            users[args.name] = make_user(args.name, args.role, _read_password(args), _split(args.fleets),
                                         _split(args.vehicles), settings.bcrypt_rounds)
            save_users(path, users)
            print(f"{args.name}: {args.role} written to {path}")
        elif args.cmd == "remove":
            if users.pop(args.name, None) is None:
                print(f"no user {args.name!r}", file=sys.stderr)
                return 1
            save_users(path, users)
        elif args.cmd == "list":
            for u in users.values():
                print(f"{u.name}\t{u.role}\tfleets={','.join(u.fleets)}\tvehicles={','.join(u.vehicles)}")
        elif args.cmd == "demo":
            password = os.environ.get("DASHBOARD_DEMO_PASSWORD", "")
            if not password:
                print("set DASHBOARD_DEMO_PASSWORD (>= 8 characters) first", file=sys.stderr)
                return 2
            for name, role in DEMO_USERS:
                fleets = [args.fleet] if role == "fleet_manager" else []
                vehicles = [args.vehicle] if role == "parent" else []
                users[name] = make_user(name, role, password, fleets, vehicles, settings.bcrypt_rounds)
            save_users(path, users)
            print(f"demo users {', '.join(n for n, *_ in DEMO_USERS)} written to {path}")
    except (UsersFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
