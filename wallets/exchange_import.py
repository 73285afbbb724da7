"""Import an exchange account through ccxt: ``fetch_balance`` and ``fetch_my_trades`` with its stored keys.

The API key is decrypted here, handed to the ccxt client and to nothing else; errors and logs
name the account and the exchange, never a key. The entries are planned by
``rules.wallet.exchange_sync`` and stored in one transaction (all or nothing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from cryptography.fernet import Fernet

from collectors.clients import make_client
from rules.wallet.exchange_sync import SyncPlan, plan_sync
from wallets.credentials import decrypt_credentials
from wallets.store import NewEntry, WalletError, WalletScope, WalletStore

log = structlog.get_logger(__name__)
# ccxt logs every request with its headers at DEBUG - the API key among them: never below WARNING here
CCXT_LOG_LEVEL = logging.WARNING


@dataclass(frozen=True)
class ExchangeImport:
    """What one import did."""

    account_id: int
    exchange: str
    symbols: tuple[str, ...]
    trades: int
    transfers: int
    added: int
    skipped_assets: tuple[str, ...]


async def fetch_account(client: Any, symbols: list[str] | None, since_ms: int | None,
                        held: set[str], currency: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    """``(balance total, trades, symbols asked)`` of the client's account; trades of ``symbols`` (default:
    every ``ASSET/currency`` the exchange lists for an asset held now or in the ledger)."""
    await client.load_markets()
    balance = await client.fetch_balance()
    total = {a: q for a, q in (balance.get("total") or {}).items() if q}
    if symbols is None:
        assets = sorted((set(total) | held) - {currency})
        symbols = [f"{a}/{currency}" for a in assets if f"{a}/{currency}" in client.markets]
    trades: list[dict[str, Any]] = []
    for symbol in symbols:
        trades += await client.fetch_my_trades(symbol, since_ms)
    return total, trades, symbols


async def import_exchange(store: WalletStore, scope: WalletScope, account_id: int, fernet: Fernet,
                          symbols: list[str] | None = None, client_factory: Callable[..., Any] | None = None,
                          now_ms: int | None = None) -> ExchangeImport:
    """Fetch and store what the exchange account holds and traded since the last imported trade."""
    account = store.account(scope, account_id)
    if account.kind != "exchange" or not account.exchange:
        raise WalletError(f"account {account.name!r} is not an exchange account")
    token = store.api_key_ciphertext(account_id)
    if token is None:
        raise WalletError(f"account {account.name!r} has no API key stored (jobs.wallet_accounts set-key)")
    stored = store.entries(scope, account_id)
    positions = store.positions(scope, account_id)
    refs = {s.entry.ref for s in stored if s.entry.ref}
    trade_times = [s.entry.ts_ms for s in stored if s.entry.ref and s.entry.kind in ("buy", "sell")]
    logging.getLogger("ccxt").setLevel(max(CCXT_LOG_LEVEL, logging.getLogger("ccxt").level))
    credentials: dict[str, Any] = dict(decrypt_credentials(fernet, token))
    client = (client_factory or make_client)(account.exchange, websocket=False, **credentials)
    try:
        total, trades, asked = await fetch_account(client, symbols, max(trade_times) if trade_times else None,
                                                   {a for a, p in positions.items() if p.quantity > 0}, store.currency)
    finally:
        await client.close()
    plan: SyncPlan = plan_sync(account.exchange, {a: p.quantity for a, p in positions.items()}, refs, trades, total,
                               store.currency, store.known_assets, now_ms if now_ms is not None else int(time.time() * 1000))
    label = f"{account.exchange} import"
    added = store.add_entries([NewEntry(account_id, f"{label}, {e.note or e.ref}", e) for e in plan.entries()],
                              f"ccxt:{account.exchange}")
    log.info("wallet exchange import", account_id=account_id, exchange=account.exchange, symbols=asked,
             trades=len(plan.trades), transfers=len(plan.transfers), added=added, skipped_assets=list(plan.skipped_assets))
    return ExchangeImport(account_id, account.exchange, tuple(asked), len(plan.trades), len(plan.transfers), added,
                          plan.skipped_assets)
