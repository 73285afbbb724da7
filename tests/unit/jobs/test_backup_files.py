"""Backup file layout and the Parquet round trip, offline: exact values, types, ns times, same bytes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from jobs.backup_layout import Manifest, partition_tags, relative_path, safe_name, sha256_of
from jobs.parquet_points import PointRow, read_parquet, to_point, write_parquet


def test_layout_names_one_file_per_measurement_exchange_and_pair() -> None:
    assert partition_tags("crypto", {"symbol"}) == ("exchange", "symbol")
    assert partition_tags("other", {"b", "a"}) == ("a", "b")
    assert relative_path("quotes", ("binance", "BTC/USDT")) == "quotes/binance/BTC-USDT.parquet"
    assert relative_path("spreads", (None, "ETH/USDT")) == "spreads/_all/ETH-USDT.parquet"
    assert relative_path("quotes", ("okx", "BTC/USDT:USDT")) == "quotes/okx/BTC-USDT_USDT.parquet"
    assert safe_name("..") == "_.." and safe_name("") == "_" and safe_name(".hidden") == "_.hidden"


def test_parquet_round_trip_is_exact_and_deterministic(tmp_path: Path) -> None:
    rows = [
        PointRow(1_767_571_200_000_123_457, {"exchange": "kraken", "symbol": "BTC/USDT"},
                 {"bid": 64950.9, "ask": 64951.2, "recv_ts_ms": 1_767_571_200_050}),
        PointRow(1_767_571_200_000_000_001, {"exchange": "kraken", "symbol": "BTC/USDT"},
                 {"bid": 0.1 + 0.2, "ask": 1.0, "last": 3.0, "recv_ts_ms": 7, "flag": True, "note": "x"}),
    ]
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert write_parquet(a, "quotes", rows, {"day": "2026-01-05"}) == 2
    write_parquet(b, "quotes", list(reversed(rows)), {"day": "2026-01-05"})
    assert a.read_bytes() == b.read_bytes(), "input order does not change the bytes"
    measurement, back = read_parquet(a)
    back = list(back)
    assert measurement == "quotes"
    assert back == sorted(rows, key=lambda r: r.time_ns)
    assert type(back[0].fields["recv_ts_ms"]) is int and type(back[0].fields["ask"]) is float
    assert "last" not in back[1].fields  # a field a point lacks stays absent (no null written back)
    line = to_point("quotes", back[0]).to_line_protocol()
    assert line == ("quotes,exchange=kraken,symbol=BTC/USDT ask=1,bid=0.30000000000000004,flag=true,last=3,"
                    'note="x",recv_ts_ms=7i 1767571200000000001')


def test_manifest_knows_complete_files_by_hash(tmp_path: Path) -> None:
    m = Manifest.load(tmp_path, "crypto", date(2026, 1, 5))
    f = tmp_path / "quotes" / "x.parquet"
    f.parent.mkdir()
    f.write_bytes(b"data")
    m.files["quotes/x.parquet"] = {"rows": 1, "sha256": sha256_of(f)}
    m.save()
    again = Manifest.load(tmp_path, "crypto", date(2026, 1, 5))
    assert again.is_done("quotes/x.parquet")
    f.write_bytes(b"changed")
    assert not again.is_done("quotes/x.parquet") and not again.is_done("quotes/missing.parquet")
