"""Traders' wallet accounts: list, create, store an exchange API key (encrypted at rest).

    python -m jobs.wallet_accounts list [--owner trader]
    python -m jobs.wallet_accounts create --owner trader --name "binance main" --kind exchange --exchange binance
    python -m jobs.wallet_accounts set-key --owner trader --name "binance main" < key.json

``set-key`` reads ``{"apiKey": ..., "secret": ...}`` (optional ``password``, ``uid``) as JSON from
standard input - never from an argument or the environment, which leak into ``ps`` and logs - and
stores it encrypted with ``WALLET_KEY_FILE``. No command ever prints a key again.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from contracts.wallet import ACCOUNT_KINDS
from settings.errors import run_main
from settings.logs import configure_logging
from wallets.config import load_wallet_settings, open_wallet_store
from wallets.credentials import encrypt_credentials, load_or_create_fernet
from wallets.store import WalletError, WalletScope


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jobs.wallet_accounts", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    ls = sub.add_parser("list", help="accounts with their balances (no keys)")
    ls.add_argument("--owner", help="only this trader's accounts")
    cr = sub.add_parser("create", help="create an account")
    key = sub.add_parser("set-key", help="store an exchange account's API key, read as JSON from stdin")
    for p in (cr, key):
        p.add_argument("--owner", required=True, help="trader (dashboard user name)")
        p.add_argument("--name", required=True, help="account name, unique per owner")
    cr.add_argument("--kind", choices=ACCOUNT_KINDS, default="wallet", help="exchange account or wallet")
    cr.add_argument("--exchange", help="ccxt id of the exchange (kind exchange)")
    args = ap.parse_args(argv)
    configure_logging()
    ws = load_wallet_settings()
    store = open_wallet_store(ws)
    try:
        if args.what == "list":
            scope = WalletScope(owner=args.owner) if args.owner else WalletScope(all_owners=True)
            for a in store.accounts(scope):
                held = {k: round(p.quantity, 10) for k, p in store.positions(scope, a.account_id).items() if abs(p.quantity) > 0}
                added = store.api_key_added_ms(scope, a.account_id)
                key_text = f"key stored {datetime.fromtimestamp(added / 1000, UTC):%Y-%m-%d %H:%M}" if added else "no key"
                print(f"{a.account_id}\t{a.owner}\t{a.name}\t{a.kind}\t{a.exchange or '-'}\t{key_text}\t{held}")
            return 0
        if args.what == "create":
            a = store.create_account(args.owner, args.name, args.kind, args.exchange)
            print(f"account {a.account_id} created: {a.owner} / {a.name} ({a.kind})")
            return 0
        account = store.account_named(args.owner, args.name)
        if account is None:
            raise WalletError(f"{args.owner} has no account named {args.name!r}")
        try:
            credentials = json.loads(sys.stdin.read())
        except json.JSONDecodeError as exc:
            raise WalletError(f"standard input is not JSON credentials: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(credentials, dict):
            raise WalletError("standard input must be a JSON object with apiKey and secret")
        fernet = load_or_create_fernet(ws.key_file)
        try:
            token = encrypt_credentials(fernet, {str(k): str(v) for k, v in credentials.items()})
        except ValueError as exc:
            raise WalletError(str(exc)) from None
        store.set_api_key(account.account_id, token)
        print(f"API key of {args.owner} / {args.name} stored encrypted")
        return 0
    except WalletError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(run_main(main))
