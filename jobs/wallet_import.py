"""Import a trader's ledger: a CSV of trades and transfers, or an exchange account through ccxt.

    python -m jobs.wallet_import csv --owner trader --file trades.csv [--create-accounts]
    python -m jobs.wallet_import exchange --owner trader --account "binance main" [--symbols BTC/USDT,ETH/USDT]

Each import is one transaction: a row that would make a balance negative, names an unknown asset
or is malformed stops it with a message naming the row (exit status 1), and nothing is stored.
CSV columns and the exchange sync: docs/wallets.md. Exchange keys: ``jobs.wallet_accounts set-key``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import structlog

from settings.errors import run_main
from settings.logs import configure_logging
from wallets.config import load_wallet_settings, open_wallet_store
from wallets.credentials import load_or_create_fernet
from wallets.csv_import import import_csv
from wallets.exchange_import import import_exchange
from wallets.store import WalletError, WalletScope

log = structlog.get_logger(__name__)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jobs.wallet_import", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("csv", help="import a CSV file of trades and transfers")
    c.add_argument("--owner", required=True, help="the trader (dashboard user name) the accounts belong to")
    c.add_argument("--file", required=True, type=Path, help="CSV file (columns: docs/wallets.md)")
    c.add_argument("--create-accounts", action="store_true", help="create accounts the file names that do not exist yet (kind wallet)")
    x = sub.add_parser("exchange", help="import balance and trades of an exchange account through ccxt")
    x.add_argument("--owner", required=True, help="the trader the account belongs to")
    x.add_argument("--account", required=True, help="account name (an exchange account with a stored key)")
    x.add_argument("--symbols", help="comma-separated symbols to fetch trades of (default: the held assets against the currency)")
    args = ap.parse_args(argv)
    configure_logging()
    ws = load_wallet_settings()
    store = open_wallet_store(ws)
    try:
        if args.what == "csv":
            added = import_csv(store, args.owner, args.file.read_text(encoding="utf-8-sig"), f"csv:{args.file.name}",
                               args.create_accounts)
            print(f"{args.file}: {added} ledger entries added for {args.owner}")
            return 0
        account = store.account_named(args.owner, args.account)
        if account is None:
            raise WalletError(f"{args.owner} has no account named {args.account!r}")
        symbols = [s.strip() for s in args.symbols.split(",") if s.strip()] if args.symbols else None
        result = asyncio.run(import_exchange(store, WalletScope(owner=args.owner), account.account_id,
                                             load_or_create_fernet(ws.key_file), symbols))
        print(f"{account.exchange} {args.account!r}: {result.trades} new trades, {result.transfers} balancing transfers, "
              f"{result.added} entries added; skipped assets: {', '.join(result.skipped_assets) or 'none'}")
        return 0
    except (WalletError, OSError) as exc:
        log.error("wallet import refused", error=str(exc))
        print(f"import refused, nothing stored: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(run_main(main))
