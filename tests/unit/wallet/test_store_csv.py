"""The wallet database (a real SQLite file, WAL) and the CSV import: one transaction, errors naming the line."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from contracts.wallet import LedgerEntry
from wallets.credentials import decrypt_credentials, encrypt_credentials, load_or_create_fernet
from wallets.csv_import import import_csv
from wallets.store import NewEntry, WalletError, WalletScope, WalletStore

ASSETS = {"BTC", "ETH", "USDT"}
GOOD = """time,account,type,asset,quantity,price,quote,fee,fee_asset,ref,note
2026-12-01T09:00:00Z,spot,deposit,USDT,10000,,,,,,opening
2026-12-01T09:05:00Z,spot,buy,BTC,0.1,30000,USDT,3,USDT,t1,
2026-12-01T09:10:00Z,spot,buy,btc,0.1,40000,USDT,0.0001,BTC,t2,
1796116500000,spot,sell,BTC,0.15,50000,USDT,7.5,,t3,
2026-12-01T09:20:00Z,cold,deposit,ETH,2,2500,,,,,
"""


def store(tmp_path: Path) -> WalletStore:
    return WalletStore.open(f"sqlite:///{tmp_path / 'w.sqlite'}", "USDT", ASSETS)


def test_import_replays_to_hand_computed_positions_and_is_idempotent_by_ref(tmp_path: Path) -> None:
    s = store(tmp_path)
    assert import_csv(s, "trader", GOOD, "csv:good.csv", create_accounts=True) == 5
    me = WalletScope(owner="trader")
    accounts = {a.name: a for a in s.accounts(me)}
    assert sorted(accounts) == ["cold", "spot"]
    pos = s.positions(me, accounts["spot"].account_id)
    assert pos["USDT"].quantity == pytest.approx(10_489.5)
    assert pos["BTC"].quantity == pytest.approx(0.0499)
    assert pos["BTC"].realized_pnl == pytest.approx(7492.5 - 3003 - 0.05 / 0.0999 * 4000)
    assert [e.entry.kind for e in s.entries(me, accounts["spot"].account_id)] == ["deposit", "buy", "buy", "sell"]
    # a second import of the same file adds the rows without a ref again, those with one not
    assert import_csv(s, "trader", GOOD, "csv:good.csv") == 2
    assert len(s.entries(me, accounts["spot"].account_id)) == 5


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    store(tmp_path)
    path = tmp_path / "w.sqlite"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
    store(tmp_path)  # reopening migrates nothing and keeps the data


@pytest.mark.parametrize(("csv_text", "message"), [
    (GOOD.replace("0.15,50000", "0.25,50000"), "line 5: BTC balance 0.1999 is less than the 0.25 sold"),
    (GOOD.replace("cold,deposit,ETH", "cold,deposit,SHIBX"), "line 6: unknown asset 'SHIBX'"),
    (GOOD.replace("0.1,40000", "zero,40000"), "line 4: quantity: Input should be a valid number"),
    (GOOD.replace("spot,buy,BTC,0.1,30000", "spot,swap,BTC,0.1,30000"), "line 3: type: Input should be 'deposit'"),
    (GOOD.replace("2026-12-01T09:20:00Z", "2026-12-01T09:20:00"), "line 6: time: Value error, needs a UTC offset"),
    (GOOD.replace("opening", "opening,extra"), "line 2: more cells than the header has columns"),
    ("when,account,type\n1,a,deposit\n", "line 1: header misses time, asset, quantity; has unknown columns when"),
])
def test_a_bad_row_names_its_line_and_nothing_is_imported(tmp_path: Path, csv_text: str, message: str) -> None:
    s = store(tmp_path)
    with pytest.raises(WalletError) as err:
        import_csv(s, "trader", csv_text, "csv:bad.csv", create_accounts=True)
    assert str(err.value).startswith(message)
    assert s.accounts(WalletScope(all_owners=True)) == []  # not even the accounts the file named


def test_unknown_account_without_create_and_a_backdated_entry_that_breaks_a_stored_one(tmp_path: Path) -> None:
    s = store(tmp_path)
    with pytest.raises(WalletError, match="^line 2: trader has no account named 'spot'"):
        import_csv(s, "trader", GOOD, "csv:good.csv")
    import_csv(s, "trader", GOOD, "csv:good.csv", create_accounts=True)
    spot = s.account_named("trader", "spot")
    assert spot is not None
    early_withdrawal = LedgerEntry(1796115700000, "withdrawal", "USDT", 9000)  # 09:01:40, before the 09:05 buy
    with pytest.raises(WalletError, match=r"^ledger entry #2 \(already stored\): USDT balance 1000 is less than the 3003"):
        s.add_entries([NewEntry(spot.account_id, "dashboard entry", early_withdrawal)], "dashboard")
    assert len(s.entries(WalletScope(owner="trader"), spot.account_id)) == 4


def test_scope_each_trader_sees_only_their_own_accounts(tmp_path: Path) -> None:
    s = store(tmp_path)
    import_csv(s, "trader", GOOD, "csv:a", create_accounts=True)
    import_csv(s, "trader2", GOOD, "csv:b", create_accounts=True)
    mine = s.accounts(WalletScope(owner="trader"))
    theirs = s.accounts(WalletScope(owner="trader2"))
    assert [a.owner for a in mine] == ["trader", "trader"] and [a.owner for a in theirs] == ["trader2", "trader2"]
    assert len(s.accounts(WalletScope(all_owners=True))) == 4
    assert s.accounts(WalletScope()) == []
    with pytest.raises(WalletError, match="^no account"):
        s.entries(WalletScope(owner="trader"), theirs[0].account_id)
    with pytest.raises(WalletError, match="^no account"):
        s.positions(WalletScope(owner="trader"), 999)


def test_api_keys_encrypted_at_rest(tmp_path: Path) -> None:
    s = store(tmp_path)
    key_file = tmp_path / "k" / "wallet.key"
    fernet = load_or_create_fernet(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    acct = s.create_account("trader", "binance main", "exchange", "binance")
    s.set_api_key(acct.account_id, encrypt_credentials(fernet, {"apiKey": "AK-visible-nowhere", "secret": "S3CR3T"}))
    raw = (tmp_path / "w.sqlite").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("w.sqlite-*"))
    assert b"S3CR3T" not in raw and b"AK-visible-nowhere" not in raw
    token = s.api_key_ciphertext(acct.account_id)
    assert token is not None
    assert decrypt_credentials(load_or_create_fernet(key_file), token) == {"apiKey": "AK-visible-nowhere", "secret": "S3CR3T"}
    assert s.api_key_added_ms(WalletScope(owner="trader"), acct.account_id) is not None
    wallet = s.create_account("trader", "cold", "wallet")
    with pytest.raises(WalletError, match="not an exchange account"):
        s.set_api_key(wallet.account_id, b"x")
    key_file.chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        load_or_create_fernet(key_file)
