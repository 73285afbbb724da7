"""The users CLI: who may sign in to the dashboard and the API, with which role and fleets / vehicles.

The store itself (file format, bcrypt hashes) is ``access.users``; this is its editor::

    python -m dashboard.users add alice --role fleet_manager --fleets north,south
    echo "$PW" | python -m dashboard.users add bob --role parent --vehicles car-7 --password-stdin
    python -m dashboard.users demo      # demo users from DASHBOARD_DEMO_PASSWORD
    python -m dashboard.users list | remove <name>

The path is ``DASHBOARD_USERS_FILE`` (default ``config/dashboard-users.json``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from access.users import ROLES, User, UsersFileError, hash_password, load_users, make_user, save_users
from dashboard.config import load_dashboard_settings

# The store's names stay importable here for callers written before the move (new code: access.users).
__all__ = ["User", "hash_password", "load_users", "save_users", "main"]


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
