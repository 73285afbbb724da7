"""The Wallet page with Streamlit's AppTest against the real InfluxDB and a real SQLite wallet file.

Two traders' ledgers (the trader's through the CSV import, with hand-computed FIFO P&L) in this
module's own database; a symbol ``W<id>/USDT`` of this run (added to CRYPTO_SYMBOLS so its asset
is known) with a spread and two stored valuations in the session's crypto bucket. The trader sees
exactly their own holdings valued at the best bid net of binance's taker fee; the admin reads any
trader's, read only; the fleet manager not at all; a bad CSV or entry names its line and adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from influxdb_client import Point

from contracts.spread import SpreadRecord
from settings.stack import load_stack_settings
from sinks.influx_points.crypto import spread_point
from sinks.influx_points.fields import at_ms
from tests.dashboard.conftest import World, open_page, plotly_specs, sign_in
from tests.dashboard.seed import delete_where, new_run_id, operator_client, write
from tests.support.wallets import seed_wallets
from wallets.config import open_wallet_store
from wallets.store import WalletScope

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Seeded:
    asset: str
    symbol: str


@pytest.fixture(scope="module")
def seeded(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    s = load_stack_settings()
    client = operator_client(s)
    asset = f"W{new_run_id()}".upper()
    symbol = f"{asset}/USDT"
    mp = seed_wallets(tmp_path_factory.mktemp("wallet"), asset)
    now = datetime.now(UTC)
    ms = int(now.timestamp() * 1000)
    points = [spread_point(SpreadRecord(symbol, ms - 3000, 60_000, "binance", 60_020, "kraken", 60_010, 20, 0.033, -0.3, 2, []))]
    for minutes, value in ((2, 12_900.0), (1, 13_000.0)):
        p = Point("wallet_valuation").tag("owner", "trader").tag("account", "*").tag("currency", "USDT")
        p.field("value_bid", value).field("value_mid", value + 1).field("realized_pnl", 2487.5).field("unrealized_pnl", 900.0)
        points.append(at_ms(p, ms - minutes * 60_000 - ms % 60_000))
    write(client, s.influx_bucket_crypto, s.influx_org, points)
    try:
        yield Seeded(asset, symbol)
    finally:
        mp.undo()
        delete_where(client, s.influx_bucket_crypto, s.influx_org, f'symbol="{symbol}"')
        delete_where(client, s.influx_bucket_crypto, s.influx_org, '_measurement="wallet_valuation" AND owner="trader"')
        client.close()


def metrics(at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.label: m.value for m in at.metric}


def test_trader_sees_own_holdings_valued_at_bid_net_of_fee(world: World, seeded: Seeded) -> None:
    at = open_page(sign_in(world, "trader"), "pages/wallet.py")
    btc_bid = 0.0499 * 60_000 * 0.999  # 2991.006
    m = metrics(at)
    assert m["Value at best bid (USDT)"] == f"{10_489.5 + btc_bid:,.2f}"  # 13,480.51
    assert m["Value at mid (USDT)"] == f"{10_489.5 + 0.0499 * 60_010:,.2f}"
    assert m["Realized P&L (FIFO)"] == "2,487.50"
    assert m["Unrealized P&L"] == f"{btc_bid - (4000 - 0.05 / 0.0999 * 4000):,.2f}"  # 993.01
    assert at.selectbox(key="wallet_account").options == ["All accounts", "spot"]  # not trader2's secret-stash
    holdings = at.dataframe[0].value
    assert holdings["Asset"].tolist() == ["USDT", seeded.asset]
    assert holdings["Quantity"].tolist() == ["10489.5", "0.0499"]
    assert holdings["Best bid on"].tolist() == ["", "binance"]
    assert at.dataframe[1].value["Type"].tolist() == ["sell", "buy", "buy", "deposit"]
    charts = plotly_specs(at)
    pie = next(c for c in charts if c["data"][0]["type"] == "pie")
    assert pie["data"][0]["labels"] == ["USDT", seeded.asset]
    line = next(c for c in charts if c["data"][0]["type"] == "scatter")
    assert [t["name"] for t in line["data"]] == ["value at bid", "value at mid", "unrealized P&L", "realized P&L"]
    assert not any("Trader" == s.label for s in at.selectbox)


def test_bad_csv_and_entry_name_the_row_and_add_nothing(world: World, seeded: Seeded) -> None:
    at = open_page(sign_in(world, "trader"), "pages/wallet.py")
    at.text_area(key="wallet_csv_text").set_value(
        "time,account,type,asset,quantity,price\n2026-12-02T09:00:00Z,spot,deposit,USDT,5\n2026-12-02T09:01:00Z,spot,sell,NOPE,1,2\n")
    at.button(key="wallet_csv_import").click().run()
    assert [e.value for e in at.error] == ["Nothing imported: line 3: unknown asset 'NOPE' (asset); known: BTC, ETH, USDT, "
                                           f"{seeded.asset}"]
    at.selectbox(key="wallet_add_kind").set_value("withdrawal")
    at.text_input(key="wallet_add_asset").set_value(seeded.asset)
    at.number_input(key="wallet_add_quantity").set_value(1.0)
    next(b for b in at.button if b.label == "Add entry").click().run()
    assert any(e.value.startswith(f"Not added: the new entry: {seeded.asset} balance 0.0499 is less than the 1 withdrawn")
               for e in at.error)
    store = open_wallet_store()
    (spot,) = store.accounts(WalletScope(owner="trader"))
    assert len(store.entries(WalletScope(owner="trader"), spot.account_id)) == 4


def test_admin_reads_any_trader_read_only_and_manager_not_at_all(world: World, seeded: Seeded) -> None:
    at = open_page(sign_in(world, "admin"), "pages/wallet.py")
    assert at.selectbox(key="wallet_owner").options == ["trader", "trader2"]
    assert not [b for b in at.button if b.label in ("Add entry", "Import")]
    assert any("Read only" in c.value for c in at.caption)
    at.selectbox(key="wallet_owner").set_value("trader2").run()
    assert at.dataframe[0].value["Asset"].tolist() == ["ETH"]
    manager = sign_in(world, "manager")
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in the manager's menu
        manager.switch_page("pages/wallet.py")


def test_wallet_in_the_trader_menu() -> None:
    from access.scope import Scope
    from dashboard.nav import pages_for

    assert "pages/wallet.py" in [p.path for p in pages_for(Scope(prices=True))]
    assert "pages/wallet.py" not in [p.path for p in pages_for(Scope(fleets=frozenset({"f"})))]
