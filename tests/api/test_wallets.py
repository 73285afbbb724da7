"""Wallet endpoints against the real InfluxDB (the seeded world's bucket) and a real SQLite wallet file.

The trader's ledger (CSV import, hand-computed FIFO) and trader2's in this module's own database;
a spread of this run's symbol ``A<id>/USDT`` priced on binance (taker fee 0.001 by override).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from influxdb_client import Point

from contracts.spread import SpreadRecord
from settings.stack import load_stack_settings
from sinks.influx_points.crypto import spread_point
from sinks.influx_points.fields import at_ms
from tests.api.conftest import World, auth, token
from tests.dashboard.seed import delete_where, new_run_id, operator_client, write
from tests.support.wallets import seed_wallets
from wallets.config import open_wallet_store
from wallets.store import WalletScope

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def asset(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    s = load_stack_settings()
    client = operator_client(s)
    asset = f"A{new_run_id()}".upper()
    mp = seed_wallets(tmp_path_factory.mktemp("wallet-api"), asset)
    ms = int(datetime.now(UTC).timestamp() * 1000)
    p = Point("wallet_valuation").tag("owner", "trader").tag("account", "*").tag("currency", "USDT")
    p.field("value_bid", 13_000.0).field("value_mid", 13_001.0).field("realized_pnl", 2487.5).field("unrealized_pnl", 900.0)
    write(client, s.influx_bucket_crypto, s.influx_org, [
        spread_point(SpreadRecord(f"{asset}/USDT", ms - 3000, 60_000, "binance", 60_020, "kraken", 60_010, 20, 0.03, -0.3, 2, [])),
        at_ms(p, ms - 60_000 - ms % 60_000)])
    try:
        yield asset
    finally:
        mp.undo()
        delete_where(client, s.influx_bucket_crypto, s.influx_org, f'symbol="{asset}/USDT"')
        delete_where(client, s.influx_bucket_crypto, s.influx_org, '_measurement="wallet_valuation" AND owner="trader"')
        client.close()


def test_trader_gets_only_own_wallets_valued_exactly(client: TestClient, world: World, asset: str) -> None:
    r = client.get("/v1/wallets", headers=auth(token(client, world, "trader")))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(a["owner"], a["name"], a["api_key_stored"]) for a in body["accounts"]] == [("trader", "spot", False)]
    (total,) = body["totals"]
    btc_bid = 0.0499 * 60_000 * 0.999
    assert total["value_bid"] == pytest.approx(10_489.5 + btc_bid)
    assert total["realized_pnl"] == pytest.approx(7492.5 - 3003 - 0.05 / 0.0999 * 4000)
    assert total["unrealized_pnl"] == pytest.approx(btc_bid - (4000 - 0.05 / 0.0999 * 4000))
    assert [a["asset"] for a in total["assets"]] == [asset, "USDT"]  # by name
    assert "apiKey" not in r.text and "secret" not in r.text.lower()


def test_foreign_account_is_404_and_writes_are_one_transaction(client: TestClient, world: World, asset: str) -> None:
    store = open_wallet_store()
    (stash,) = store.accounts(WalletScope(owner="trader2"))
    (spot,) = store.accounts(WalletScope(owner="trader"))
    h = auth(token(client, world, "trader"))
    assert client.get(f"/v1/wallets/{stash.account_id}/ledger", headers=h).status_code == 404
    assert client.get("/v1/wallets/999999/ledger", headers=h).status_code == 404
    assert [e["type"] for e in client.get(f"/v1/wallets/{spot.account_id}/ledger", headers=h).json()["entries"]] == [
        "deposit", "buy", "buy", "sell"]
    bad = [{"time": "2026-12-02T10:00:00Z", "type": "deposit", "asset": "USDT", "quantity": 5},
           {"time": "2026-12-02T10:01:00Z", "type": "withdrawal", "asset": asset, "quantity": 1}]
    r = client.post(f"/v1/wallets/{spot.account_id}/entries", headers=h, json=bad)
    assert r.status_code == 422 and r.json()["detail"] == f"nothing stored: entry 1: {asset} balance 0.0499 is less than the 1 withdrawn"
    r = client.post(f"/v1/wallets/{spot.account_id}/entries", headers=h, json=bad[:1])
    assert (r.status_code, r.json()) == (201, {"account_id": spot.account_id, "added": 1})
    assert client.post(f"/v1/wallets/{stash.account_id}/entries", headers=h, json=bad[:1]).status_code == 404
    assert len(store.entries(WalletScope(owner="trader"), spot.account_id)) == 5
    assert len(store.entries(WalletScope(owner="trader2"), stash.account_id)) == 1


def test_admin_reads_all_writes_nothing_manager_has_no_wallet_scope(client: TestClient, world: World, asset: str) -> None:
    h = auth(token(client, world, "admin"))
    body = client.get("/v1/wallets", headers=h).json()
    assert sorted({a["owner"] for a in body["accounts"]}) == ["trader", "trader2"]
    (stash,) = open_wallet_store().accounts(WalletScope(owner="trader2"))
    one = [{"time": "2026-12-02T10:00:00Z", "type": "deposit", "asset": "USDT", "quantity": 5}]
    assert client.post(f"/v1/wallets/{stash.account_id}/entries", headers=h, json=one).status_code == 404
    assert client.get("/v1/wallets", headers=auth(token(client, world, "manager"))).status_code == 403


def test_history_of_the_callers_wallet(client: TestClient, world: World, asset: str) -> None:
    h = auth(token(client, world, "trader"))
    points = client.get("/v1/wallets/history", headers=h).json()["points"]
    assert [(p["value_bid"], p["unrealized_pnl"]) for p in points] == [(13_000.0, 900.0)]
    assert client.get("/v1/wallets/history?owner=trader2", headers=h).status_code == 404
