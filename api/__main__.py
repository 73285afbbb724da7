"""``python -m api``: serve the API, or manage its integration clients and refresh tokens.

    python -m api                      # serve on API_HOST:API_PORT (127.0.0.1:8000)
    python -m api clients add erp --data-scope fleet --ids logistics --scopes fleet:read
    python -m api clients list | remove <client_id>
    python -m api tokens revoke user:alice    # every refresh token of a user (or client:<id>)

Settings come from the environment (``API_*``, docs/api.md#settings); the client secret is
printed once by ``clients add`` and kept only as a hash in ``API_CLIENTS_FILE``.
"""

from __future__ import annotations

import argparse
import sys

from api.clients import KINDS, ClientsFileError, load_clients, new_client, save_clients
from api.config import load_api_settings
from api.refresh import RefreshStore
from api.tokens import SCOPES
from settings.errors import run_main
from settings.logs import configure_logging


def _split(csv: str | None) -> list[str]:
    return [part.strip() for part in (csv or "").split(",") if part.strip()]


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m api", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    sub.add_parser("serve", help="serve the API (the default)")
    clients = sub.add_parser("clients", help="integration clients (grant_type=client_credentials)")
    csub = clients.add_subparsers(dest="action", required=True)
    add = csub.add_parser("add", help="create a client; prints its id and secret once")
    add.add_argument("name")
    add.add_argument("--data-scope", required=True, choices=KINDS, help="fleet ids, vehicle ids, prices only, or everything")
    add.add_argument("--ids", help="comma separated fleet ids (fleet) or vehicle ids (vehicle)")
    add.add_argument("--scopes", required=True, help=f"comma separated, of: {', '.join(SCOPES)}")
    csub.add_parser("list", help="list clients (no secrets)")
    rm = csub.add_parser("remove", help="remove a client (its access tokens stop working at once)")
    rm.add_argument("client_id")
    tokens = sub.add_parser("tokens", help="refresh tokens")
    tsub = tokens.add_subparsers(dest="action", required=True)
    rv = tsub.add_parser("revoke", help="revoke every refresh token of a subject")
    rv.add_argument("subject", help="user:<name> or client:<id>")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging(service="api")
    settings = load_api_settings()
    if args.cmd in (None, "serve"):
        import uvicorn

        from api.app import create_app

        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                    log_config=None)  # uvicorn logs through configure_logging's handlers
        return 0
    try:
        if args.cmd == "clients":
            clients = load_clients(settings.clients_file)
            if args.action == "add":
                client, secret = new_client(args.name, args.data_scope, _split(args.scopes), _split(args.ids))
                clients[client.client_id] = client
                save_clients(settings.clients_file, clients)
                print(f"client_id={client.client_id}")
                print(f"client_secret={secret}")
                print("the secret is shown once; only its hash is kept", file=sys.stderr)
            elif args.action == "list":
                for c in clients.values():
                    print(f"{c.client_id}\t{c.name}\t{c.kind}\tids={','.join(c.ids)}\tscopes={','.join(c.scopes)}")
            elif args.action == "remove":
                if clients.pop(args.client_id, None) is None:
                    print(f"no client {args.client_id!r}", file=sys.stderr)
                    return 1
                save_clients(settings.clients_file, clients)
        elif args.cmd == "tokens":
            n = RefreshStore(settings.refresh_tokens_file, settings.refresh_token_ttl_s).revoke_subject(args.subject)
            print(f"{n} refresh token(s) of {args.subject} revoked")
    except ClientsFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
