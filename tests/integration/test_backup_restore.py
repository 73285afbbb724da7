"""Backup, restore and retention commands against the real InfluxDB, in throwaway buckets.

Known points of one day (plus neighbours on the days around it) -> ``jobs.backup`` stopped after 3
files -> resumed -> re-run (same bytes, all skipped) -> ``jobs.restore`` into a second bucket: the
same points, values, types and nanosecond times, and nothing of the neighbouring days. Then the
points of one pair are deleted from the source with the delete API and restored in place.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS

from settings.stack import REPO_ROOT, StackSettings
from tests.support.buckets import temp_bucket
from tests.support.services import influx_query, require_stack, unique

pytestmark = pytest.mark.integration

DAY = date(2026, 1, 5)
T0 = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp()) * 1_000_000_000
NS_DAY = 86_400 * 1_000_000_000
EXCHANGES = ("binance", "kraken")
SYMBOLS = ("BTC/USDT", "ETH/USDT")


def known_points() -> list[tuple[str, dict, dict, int]]:
    """(measurement, tags, fields, time ns) of day DAY and its neighbours."""
    pts = []
    for i, ex in enumerate(EXCHANGES):
        for j, sym in enumerate(SYMBOLS):
            for k in range(5):
                t = T0 + k * 3_600_000_000_000 + i * 1_000_000 + j * 7 + 123_456  # ns, not whole ms
                fields = {"bid": 100.0 + k + j / 3, "ask": 100.5 + k, "bid_size": 1.25, "recv_ts_ms": t // 1_000_000 + 50}
                if k % 2:
                    fields["last"] = 100.2 + k  # some points lack a field
                pts.append(("quotes", {"exchange": ex, "symbol": sym}, fields, t))
            pts.append(("ohlc_1m", {"exchange": ex, "symbol": sym},
                        {"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "count": 60}, T0 + 60_000_000_000))
    for j, sym in enumerate(SYMBOLS):
        pts.append(("spreads", {"symbol": sym}, {"best_bid": 101.0, "best_bid_exchange": "kraken", "best_ask": 100.9,
                                                  "best_ask_exchange": "binance", "exchanges_counted": 2,
                                                  "exchanges_excluded": 0, "recv_ts_ms": 1}, T0 + j))
        pts.append(("extremes", {"symbol": sym}, {"low": 99.0, "low_exchange": "binance", "high": 101.0,
                                                   "high_exchange": "kraken"}, T0 + NS_DAY - 1))  # last ns of the day
    # neighbours: the last ns of the day before and the first ns of the day after
    pts.append(("quotes", {"exchange": "binance", "symbol": "BTC/USDT"}, {"bid": 1.0, "ask": 1.1}, T0 - 1))
    pts.append(("quotes", {"exchange": "binance", "symbol": "BTC/USDT"}, {"bid": 2.0, "ask": 2.1}, T0 + NS_DAY))
    return pts


def write(s: StackSettings, bucket: str, pts) -> None:
    with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org) as c:
        points = []
        for m, tags, fields, t in pts:
            p = Point(m)
            for k, v in tags.items():
                p.tag(k, v)
            for k, v in fields.items():
                p.field(k, v)
            points.append(p.time(t, WritePrecision.NS))
        c.write_api(write_options=SYNCHRONOUS).write(bucket, s.influx_org, points)


def stored(s: StackSettings, bucket: str) -> set[tuple]:
    """Every (measurement, tags, field, ns, value, type) of a bucket."""
    rows = influx_query(s, f'''from(bucket: "{bucket}") |> range(start: 0)
        |> map(fn: (r) => ({{r with _ns: int(v: r._time)}}))''')
    reserved = {"result", "table", "_start", "_stop", "_time", "_measurement", "_field", "_value", "_ns"}
    return {(r["_measurement"], tuple(sorted((k, v) for k, v in r.items() if k not in reserved)), r["_field"], r["_ns"],
             r["_value"], type(r["_value"]).__name__) for r in rows}


def expected(pts) -> set[tuple]:
    return {(m, tuple(sorted(tags.items())), f, t, v, type(v).__name__) for m, tags, fields, t in pts for f, v in fields.items()}


def cli(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)


def hashes(root: Path) -> dict[str, str]:
    return {k: v["sha256"] for k, v in json.loads((root / "manifest.json").read_text())["files"].items()}


def test_backup_resume_idempotent_restore_roundtrip(tmp_path: Path) -> None:
    s = require_stack()
    pts = known_points()
    of_day = [p for p in pts if T0 <= p[3] < T0 + NS_DAY]
    assert len(of_day) == len(pts) - 2
    with temp_bucket(s, unique("bk-src")) as src, temp_bucket(s, unique("bk-dst")) as dst:
        write(s, src, pts)
        assert stored(s, src) == expected(pts)
        out = tmp_path / "backups"
        common = ("--day", DAY.isoformat(), "--bucket", src, "--out", str(out), "--partition-tags", "exchange,symbol")

        first = cli("jobs.backup", *common, "--max-files", "3")  # a run that stops (or crashes) part-way
        assert first.returncode == 3, first.stderr
        root = out / src / DAY.isoformat()
        assert len(hashes(root)) == 3 and "stopped after 3 files" in first.stdout

        resumed = cli("jobs.backup", *common)
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stdout.count(" skip ") == 3 and resumed.stdout.count(" wrote ") == 9
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))
        assert files == sorted([f"quotes/{e}/{y.replace('/', '-')}.parquet" for e in EXCHANGES for y in SYMBOLS]
                               + [f"ohlc_1m/{e}/{y.replace('/', '-')}.parquet" for e in EXCHANGES for y in SYMBOLS]
                               + [f"{m}/_all/{y.replace('/', '-')}.parquet" for m in ("spreads", "extremes") for y in SYMBOLS])
        manifest = json.loads((root / "manifest.json").read_text())
        assert manifest["complete"] and sum(f["rows"] for f in manifest["files"].values()) == len(of_day)
        assert manifest["files"]["quotes/binance/BTC-USDT.parquet"]["rows"] == 5  # neighbours left out
        before = hashes(root)

        again = cli("jobs.backup", *common)
        assert again.returncode == 0 and again.stdout.count(" skip ") == 12 and " wrote " not in again.stdout
        assert hashes(root) == before
        fresh = cli("jobs.backup", *common[:-4], "--out", str(tmp_path / "fresh"), "--partition-tags", "exchange,symbol")
        assert fresh.returncode == 0, fresh.stderr
        assert hashes(tmp_path / "fresh" / src / DAY.isoformat()) == before, "same points, same bytes"

        restored = cli("jobs.restore", "--day", DAY.isoformat(), "--bucket", src, "--into", dst, "--in", str(out))
        assert restored.returncode == 0, restored.stderr
        assert f"done: {len(of_day)} points into {dst}" in restored.stdout
        assert stored(s, dst) == expected(of_day)

        # delete one pair in the source with the delete API, then restore in place
        with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org) as c:
            c.delete_api().delete(datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC),
                                  '_measurement="quotes" AND symbol="ETH/USDT"', bucket=src, org=s.influx_org)
        assert stored(s, src) == expected([p for p in pts if not (p[0] == "quotes" and p[1]["symbol"] == "ETH/USDT")])
        in_place = cli("jobs.restore", "--day", DAY.isoformat(), "--bucket", src, "--in", str(out))
        assert in_place.returncode == 0, in_place.stderr
        assert stored(s, src) == expected(pts)

        # a damaged file stops the restore before anything is written
        victim = root / "spreads/_all/BTC-USDT.parquet"
        victim.write_bytes(victim.read_bytes()[:-10])
        damaged = cli("jobs.restore", "--day", DAY.isoformat(), "--bucket", src, "--into", dst, "--in", str(out))
        assert damaged.returncode != 0 and "sha256 differs" in damaged.stderr + damaged.stdout


def test_retention_command_changes_a_bucket_at_runtime() -> None:
    s = require_stack()
    with temp_bucket(s, unique("ret")) as bucket:
        shown = cli("jobs.retention", "--bucket", bucket)
        assert shown.returncode == 0 and shown.stdout.strip() == f"bucket {bucket}: retention infinite"
        changed = cli("jobs.retention", "--bucket", bucket, "--days", "14")
        assert changed.returncode == 0, changed.stderr
        assert changed.stdout.strip() == f"bucket {bucket}: retention infinite -> 14 days"
        with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org) as c:
            assert [r.every_seconds for r in c.buckets_api().find_bucket_by_name(bucket).retention_rules] == [14 * 86400]
        back = cli("jobs.retention", "--bucket", bucket, "--days", "0")
        assert back.stdout.strip() == f"bucket {bucket}: retention 14 days -> infinite"
        assert cli("jobs.retention", "--bucket", unique("missing")).returncode != 0
        assert "--days" in cli("jobs.retention", "--help").stdout
