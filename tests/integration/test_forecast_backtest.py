"""The backtest command over stored history: InfluxDB and the daily backups of the same day give the
same report, equal to the pure replay; a known AR(1) signal shows skill, a random walk does not.

Seeds a private bucket with one spread a minute for two symbols over 10 hours of 2026-11-20: one
with AR(1) minute returns (phi 0.5), one a random walk. Backs the day up with the real jobs.backup.
"""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from contracts.spread import SpreadRecord
from jobs.backup import run_backup
from jobs.influx_admin import operator_client
from rules.crypto.forecast import ForecastConfig, Forecaster
from rules.crypto.forecast_backtest import replay
from rules.crypto.forecast_metrics import BASELINE, SKILL
from settings.stack import REPO_ROOT
from sinks.influx_points.crypto import spread_point
from tests.dashboard.seed import write
from tests.support.buckets import temp_bucket
from tests.support.services import require_stack, unique
from tests.unit.crypto.test_forecast import prices

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 20)
START_BAR = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp()) // 60
MINUTES = 600
SERIES = {"ARX/USDT": prices(0.5, MINUTES, 21), "RWX/USDT": prices(0.0, MINUTES, 22)}


def spread_at(symbol: str, bar: int, mid: float) -> SpreadRecord:
    ts = (bar + 1) * 60_000 - 500  # late in its minute: the minute's close
    return SpreadRecord(symbol, ts, mid - 0.001, "exa", mid + 0.001, "exb", mid, 0.002, 0.002 / mid * 100, -0.4, 2, [])


def run_backtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobs.forecast_backtest", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_backtest_from_influx_and_from_backups(tmp_path: Path) -> None:
    s = require_stack()
    run = unique("bt")
    with temp_bucket(s, run) as bucket, operator_client(s) as client:
        write(client, bucket, s.influx_org, [spread_point(spread_at(sym, START_BAR + i, p))
                                             for sym, closes in SERIES.items() for i, p in enumerate(closes)])
        span = ["--start", "2026-11-20", "--stop", "2026-11-21", "--bucket", bucket, "--progress-every", "200"]
        from_influx = run_backtest(*span, "--out", str(tmp_path / "influx"))
        manifest = run_backup(client, bucket, DAY, tmp_path / "backups", log=lambda _: None)
        assert manifest.complete
    from_backups = run_backtest(*span, "--source", "backups", "--backups", str(tmp_path / "backups"), "--out", str(tmp_path / "backups-report"))
    for result in (from_influx, from_backups):
        assert result.returncode == 0, result.stderr[-3000:]
        assert "river_bayes_linear ARX/USDT: 200/600 bars" in result.stderr  # progress
        assert "| ARX/USDT | 1m | river_bayes_linear |" in result.stdout  # the report's table
    for folder in ("influx", "backups-report"):
        assert {p.name for p in (tmp_path / folder).iterdir()} == {
            "skill.csv", "report.md", "mase.html", "cumulative_1m.html", "cumulative_5m.html", "cumulative_15m.html"}
    rows = read_rows(tmp_path / "influx" / "skill.csv")
    assert rows == read_rows(tmp_path / "backups-report" / "skill.csv")

    # equal to the pure replay of the same closes
    fc = Forecaster(ForecastConfig(skill_every_bars=10**9))
    want = {}
    for sym, closes in SERIES.items():
        rp = replay(fc, sym, [(START_BAR + i, p) for i, p in enumerate(closes)])
        want |= {(sym, str(h), m): f for (h, m), f in rp.final.items()}
    assert len(rows) == len(want) == 2 * 3 * 3
    for r in rows:
        f = want[(r["symbol"], r["horizon_min"], r["model"])]
        assert (int(r["n"]), r["verdict"]) == (f.n, f.verdict)
        assert f.mase is not None and math.isclose(float(r["mase"]), f.mase)
    verdicts = {(r["symbol"], r["horizon_min"], r["model"]): r["verdict"] for r in rows}
    assert verdicts[("ARX/USDT", "1", "river_bayes_linear")].startswith(SKILL)
    assert not any(v.startswith(SKILL) for (sym, _, _), v in verdicts.items() if sym == "RWX/USDT")
    assert {v for (_, _, m), v in verdicts.items() if m == "random_walk"} == {BASELINE}


def test_backtest_refuses_bad_arguments() -> None:
    result = run_backtest("--models", "crystal_ball", "--start=-1h")
    assert result.returncode == 2 and "unknown forecast model 'crystal_ball'" in result.stderr
