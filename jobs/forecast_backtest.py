"""Backtest of the forecaster over stored history: the live flow's walk-forward, replayed.

    python -m jobs.forecast_backtest                                   # last 7 days from InfluxDB, every symbol
    python -m jobs.forecast_backtest --start 2026-11-25 --stop 2026-12-02 --symbols BTC/USDT,ETH/USDT
    python -m jobs.forecast_backtest --source backups --backups var/backups --start 2026-11-25 --stop 2026-11-27
    python -m jobs.forecast_backtest --models river_bayes_linear,river_linear   # compare learners

Minute closes of the cross-exchange mid come from the ``spreads`` measurement (InfluxDB, last mid
per minute) or from the daily backups' ``spreads`` files (jobs/backup.py); each symbol then runs
through ``rules.crypto.forecast.Forecaster`` exactly as in the flow (forecast, then score and learn
when the target matures). Writes to ``--out``: ``skill.csv`` (every figure), ``report.md`` (the
table with the verdicts), ``mase.html`` and ``cumulative_<h>m.html`` (plotly). Progress on stderr.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pyarrow.parquet as pq
from influxdb_client import InfluxDBClient

from jobs.backup_layout import safe_name
from jobs.influx_admin import operator_client
from rules.crypto.forecast import DEFAULT_MODEL, ForecastConfig, Forecaster
from rules.crypto.forecast_backtest import Replay, minute_closes, replay
from rules.crypto.forecast_metrics import SKILL
from rules.crypto.forecast_models import BASELINES, MODELS, RANDOM_WALK
from settings.logs import configure_logging
from settings.stack import load_stack_settings

MINUTE_MS = 60_000


def parse_time(text: str) -> datetime:
    """``2026-11-25``, ``2026-11-25T12:00`` (UTC unless an offset is given) or ``-7d`` / ``-12h`` from now."""
    if text.startswith("-") and text[-1] in "dhm" and text[1:-1].isdigit():
        unit = {"d": "days", "h": "hours", "m": "minutes"}[text[-1]]
        return datetime.now(UTC) - timedelta(**{unit: int(text[1:-1])})
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def influx_symbols(client: InfluxDBClient, bucket: str, start: datetime, stop: datetime) -> list[str]:
    q = ('import "influxdata/influxdb/schema"\n'
         'schema.tagValues(bucket: p_bucket, tag: "symbol", predicate: (r) => r._measurement == "spreads", start: p_start, stop: p_stop)')
    tables = client.query_api().query(q, params={"p_bucket": bucket, "p_start": start, "p_stop": stop})
    return sorted(str(r.get_value()) for t in tables for r in t.records)


def influx_closes(client: InfluxDBClient, bucket: str, symbol: str, start: datetime, stop: datetime) -> list[tuple[int, float]]:
    """Last mid of each minute (window end = bar end), as the flow's bars."""
    q = ('from(bucket: p_bucket) |> range(start: p_start, stop: p_stop)\n'
         '  |> filter(fn: (r) => r._measurement == "spreads" and r.symbol == p_symbol and r._field == "mid")\n'
         '  |> aggregateWindow(every: 1m, fn: last, createEmpty: false)')
    tables = client.query_api().query(q, params={"p_bucket": bucket, "p_start": start, "p_stop": stop, "p_symbol": symbol})
    rows = [(int(r.get_time().timestamp() * 1000) // MINUTE_MS - 1, float(r.get_value())) for t in tables for r in t.records]
    return sorted(rows)


def backup_days(start: datetime, stop: datetime) -> Iterator[date]:
    day = start.date()
    while datetime(day.year, day.month, day.day, tzinfo=UTC) < stop:
        yield day
        day += timedelta(days=1)


def backup_files(root: Path, bucket: str, start: datetime, stop: datetime) -> dict[str, list[Path]]:
    """symbol file name -> its ``spreads`` files of the days in range."""
    out: dict[str, list[Path]] = {}
    for day in backup_days(start, stop):
        # crypto: spreads/_all/<BASE-QUOTE>.parquet (no exchange tag); another bucket: spreads/<BASE-QUOTE>.parquet
        folder = root / bucket / day.isoformat() / "spreads"
        for path in sorted(folder.rglob("*.parquet")) if folder.is_dir() else []:
            out.setdefault(path.stem, []).append(path)
    return out


def backup_closes(paths: list[Path], start: datetime, stop: datetime) -> tuple[str, list[tuple[int, float]]]:
    """(symbol, minute closes) of one symbol's daily ``spreads`` files."""
    times: list[int] = []
    mids: list[float] = []
    symbol = ""
    lo, hi = int(start.timestamp() * 1000), int(stop.timestamp() * 1000)
    for path in paths:
        table = pq.read_table(path, columns=["time", "symbol", "mid"])
        ts = [int(t.timestamp() * 1000) for t in table.column("time").to_pylist()]
        for t, s, m in zip(ts, table.column("symbol").to_pylist(), table.column("mid").to_pylist(), strict=True):
            if lo <= t < hi and m is not None:
                times.append(t)
                mids.append(float(m))
                symbol = symbol or str(s)
    return symbol, minute_closes(times, mids)


def fmt(value: float | None, spec: str, scale: float = 1.0) -> str:
    return "n/a" if value is None else format(value * scale, spec)


def report_rows(replays: list[tuple[str, Replay]]) -> list[dict[str, Any]]:
    """One row per run (learner), symbol, horizon and model: the final figures."""
    rows = []
    first = replays[0][0] if replays else ""
    for learner, rp in replays:
        for (h, model), f in sorted(rp.final.items(), key=lambda kv: (kv[0][0], kv[0][1] in BASELINES, kv[0][1])):
            if model in BASELINES and learner != first:
                continue  # the baselines do not depend on the learner: once
            rows.append({"symbol": rp.symbol, "run": learner, "horizon_min": h, "model": model, "bars": rp.bars, **asdict(f)})
    return rows


def write_report(out: Path, rows: list[dict[str, Any]], replays: list[tuple[str, Replay]], meta: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "skill.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    learner_rows = [r for r in rows if r["model"] not in BASELINES]
    claims = sum(str(r["verdict"]).startswith(SKILL) for r in learner_rows)
    lines = ["# Forecast backtest", "", *(f"- {k}: {v}" for k, v in meta.items()), "",
             f"{claims} of {len(learner_rows)} learner rows show skill over a random walk at the 5% level; about "
             f"{0.05 * len(learner_rows):.1f} would by chance alone. MAE in basis points of log return.", "",
             "| symbol | horizon | model | scored | MAE bp | RW MAE bp | MASE | direction right | binomial p | DM p (better) "
             "| coverage | verdict |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        hit = "n/a" if r["hit_rate"] is None else f"{r['hit_rate']:.1%} of {r['directional_n']}"
        lines.append(f"| {r['symbol']} | {r['horizon_min']}m | {r['model']} | {r['n']} | {fmt(r['mae'], '.3f')} | "
                     f"{fmt(r['mae_random_walk'], '.3f')} | {fmt(r['mase'], '.4f')} | {hit} | {fmt(r['binomial_p'], '.3g')} | "
                     f"{fmt(r['dm_p_better'], '.3g')} | {fmt(r['coverage'], '.1%')} | {r['verdict']} |")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    fig = go.Figure()
    for model in sorted({r["model"] for r in rows} - {RANDOM_WALK}):
        part = [r for r in rows if r["model"] == model and r["mase"] is not None]
        fig.add_trace(go.Bar(x=[f"{r['symbol']} {r['horizon_min']}m" for r in part], y=[r["mase"] for r in part], name=model))
    fig.add_hline(y=1.0, line_dash="dot", annotation_text="random walk")
    fig.update_layout(title="MASE against the random walk (below 1 = smaller error)", barmode="group")
    fig.write_html(out / "mase.html", include_plotlyjs="cdn")
    horizons = sorted({h for _, rp in replays for (h, _) in rp.cumulative})
    for h in horizons:
        fig = go.Figure()
        for _, rp in replays:
            for (hh, model), series in sorted(rp.cumulative.items()):
                if hh != h or model == RANDOM_WALK:
                    continue
                fig.add_trace(go.Scatter(x=[datetime.fromtimestamp(t / 1000, UTC) for t, _ in series], y=[v for _, v in series],
                                         mode="lines", name=f"{rp.symbol} {model}"))
        fig.update_layout(title=f"{h}m: cumulative |error| minus the random walk's, bp (below 0 = better so far)")
        fig.write_html(out / f"cumulative_{h}m.html", include_plotlyjs="cdn")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jobs.forecast_backtest", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", choices=("influx", "backups"), default="influx", help="where the history is (default %(default)s)")
    ap.add_argument("--start", default="-7d", type=parse_time, help="start, ISO time (UTC) or relative as --start=-7d / -12h / -90m (default -7d)")
    ap.add_argument("--stop", default=None, type=parse_time, help="end, exclusive (default now)")
    ap.add_argument("--symbols", help="comma-separated symbols (default: every symbol with spreads in the range)")
    ap.add_argument("--bucket", help="InfluxDB bucket / backup bucket folder (default INFLUX_BUCKET_CRYPTO)")
    ap.add_argument("--backups", type=Path, default=Path("var/backups"), help="backup root for --source backups (default %(default)s)")
    ap.add_argument("--models", default=DEFAULT_MODEL, help=f"learners to run, comma-separated, from {', '.join(MODELS)} (default %(default)s)")
    ap.add_argument("--horizons", default="1,5,15", help="horizons in minutes (default %(default)s)")
    ap.add_argument("--lags", type=int, default=5, help="lagged 1-minute returns (default %(default)s)")
    ap.add_argument("--out", type=Path, help="report folder (default var/backtests/<UTC time>)")
    ap.add_argument("--progress-every", type=int, default=1000, help="bars between progress lines (default %(default)s)")
    args = ap.parse_args(argv)
    configure_logging()
    stop = args.stop or datetime.now(UTC)
    bucket = args.bucket or load_stack_settings().influx_bucket_crypto
    out = args.out or Path("var/backtests") / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        horizons = tuple(int(h) for h in args.horizons.split(",") if h.strip())
        forecasters = {m: Forecaster(ForecastConfig(horizons=horizons, lags=args.lags, model=m, skill_every_bars=10**9))
                       for m in args.models.split(",") if m.strip()}
    except (KeyError, ValueError) as exc:
        print(f"[backtest] {exc}", file=sys.stderr)
        return 2
    wanted = [s.strip() for s in args.symbols.split(",")] if args.symbols else None

    series: dict[str, list[tuple[int, float]]] = {}
    if args.source == "influx":
        with operator_client() as client:
            symbols = wanted or influx_symbols(client, bucket, args.start, stop)
            for i, symbol in enumerate(symbols, 1):
                series[symbol] = influx_closes(client, bucket, symbol, args.start, stop)
                print(f"[backtest] read {symbol}: {len(series[symbol])} minute closes ({i}/{len(symbols)})", file=sys.stderr)
    else:
        files = backup_files(args.backups, bucket, args.start, stop)
        names = {safe_name(s): s for s in wanted} if wanted else None
        for name, paths in sorted(files.items()):
            if names is not None and name not in names:
                continue
            symbol, closes = backup_closes(paths, args.start, stop)
            series[symbol or name] = closes
            print(f"[backtest] read {symbol or name}: {len(closes)} minute closes from {len(paths)} daily file(s)", file=sys.stderr)
    series = {s: c for s, c in series.items() if c}
    if not series:
        print(f"[backtest] no spreads between {args.start.isoformat()} and {stop.isoformat()} ({args.source}, bucket {bucket})",
              file=sys.stderr)
        return 1

    replays: list[tuple[str, Replay]] = []
    started = time.process_time()
    total = sum(len(c) for c in series.values()) * len(forecasters)
    done = 0
    for model, fc in forecasters.items():
        for symbol, closes in series.items():
            def progress(n: int, symbol: str = symbol, model: str = model, base: int = done, size: int = len(closes)) -> None:
                print(f"[backtest] {model} {symbol}: {n}/{size} bars, {100 * (base + n) / total:.0f}% of all", file=sys.stderr)

            rp = replay(fc, symbol, closes, progress=progress, progress_every=args.progress_every)
            done += len(closes)
            replays.append((model, rp))
            print(f"[backtest] {model} {symbol}: done, {rp.forecasts} forecasts", file=sys.stderr)
    rows = report_rows(replays)
    meta = {"source": f"{args.source} (bucket {bucket})", "range": f"{args.start.isoformat()} .. {stop.isoformat()}",
            "symbols": str(len(series)), "learners": ", ".join(forecasters), "horizons (min)": args.horizons,
            "lags": str(args.lags), "CPU s": f"{time.process_time() - started:.1f}"}
    write_report(out, rows, replays, meta)
    print((out / "report.md").read_text())
    print(f"[backtest] report: {out}/report.md, skill.csv, mase.html, cumulative_*.html", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
