"""Two traders' wallets in a test's own SQLite file, for the dashboard and API wallet tests.

The trader's ledger is the hand-computed FIFO example of docs/wallets.md with ``asset`` in place of
BTC (a symbol of the test run, so its spreads are the test's own): realized 2,487.498, left 0.0499
costing 1,997.998 and 10,489.5 USDT. trader2 holds 5 ETH bought at 1,000.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wallets.config import open_wallet_store
from wallets.csv_import import import_csv


def ledger(asset: str) -> str:
    return f"""time,account,type,asset,quantity,price,quote,fee,fee_asset,ref
2026-12-01T09:00:00Z,spot,deposit,USDT,10000,,,,,
2026-12-01T09:05:00Z,spot,buy,{asset},0.1,30000,USDT,3,USDT,t1
2026-12-01T09:10:00Z,spot,buy,{asset},0.1,40000,USDT,0.0001,{asset},t2
2026-12-01T09:15:00Z,spot,sell,{asset},0.15,50000,USDT,7.5,USDT,t3
"""


def seed_wallets(db_dir: Path, asset: str) -> pytest.MonkeyPatch:
    """Point WALLET_DB_URL at ``db_dir``, make ``asset`` known (CRYPTO_SYMBOLS), binance's / kraken's taker
    fees 0.001 / 0.002, and import both ledgers; the caller ``undo()``es the returned patch."""
    mp = pytest.MonkeyPatch()
    mp.setenv("WALLET_DB_URL", f"sqlite:///{db_dir / 'wallets.sqlite'}")
    mp.setenv("CRYPTO_SYMBOLS", f"BTC/USDT,ETH/USDT,{asset}/USDT")
    mp.setenv("CRYPTO_EXCHANGES", "binance,kraken")
    mp.setenv("CRYPTO_TAKER_FEES", '{"binance": 0.001, "kraken": 0.002}')
    store = open_wallet_store()
    import_csv(store, "trader", ledger(asset), "csv:test", create_accounts=True)
    import_csv(store, "trader2", "time,account,type,asset,quantity,price\n2026-12-01T09:00:00Z,secret-stash,deposit,ETH,5,1000\n",
               "csv:test", create_accounts=True)
    return mp
