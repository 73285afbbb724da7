"""Daily backup of one InfluxDB bucket: one Parquet file per measurement, exchange and pair.

    python -m jobs.backup --day 2026-11-24                       # bucket crypto -> var/backups
    python -m jobs.backup --day 2026-11-24 --bucket crypto --out var/backups

Layout (``jobs/backup_layout.py``): ``var/backups/crypto/2026-11-24/quotes/binance/BTC-USDT.parquet``,
``.../spreads/_all/BTC-USDT.parquet`` and ``manifest.json``. Idempotent: the same day gives the same
bytes, and files already in the manifest with their hash are skipped. Resumable: the manifest is
saved after every file, so a run that crashed or was stopped goes on where it was. A day that is not
over yet (UTC) is refused: its files would be incomplete yet marked done.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from influxdb_client import InfluxDBClient

from jobs.backup_layout import Manifest, day_dir, partition_tags, relative_path, sha256_of
from jobs.influx_admin import operator_client
from jobs.parquet_points import PointRow, write_parquet
from settings.logs import configure_logging

RESERVED = frozenset({"result", "table", "_start", "_stop", "_time", "_measurement", "_field", "_value", "_ns"})


def day_range(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _query(client: InfluxDBClient, flux: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [r.values for t in client.query_api().query(flux, params=params) for r in t.records]


def measurements(client: InfluxDBClient, bucket: str, start: datetime, stop: datetime) -> list[str]:
    rows = _query(client, 'import "influxdata/influxdb/schema"\n'
                          "schema.measurements(bucket: p_bucket, start: p_start, stop: p_stop)",
                  {"p_bucket": bucket, "p_start": start, "p_stop": stop})
    return sorted({r["_value"] for r in rows})


def partitions(client: InfluxDBClient, bucket: str, measurement: str, start: datetime, stop: datetime,
               tags: tuple[str, ...] | None) -> tuple[tuple[str, ...], list[tuple[str | None, ...]]]:
    """The partition tags of a measurement and every combination of their values that day."""
    rows = _query(client, 'from(bucket: p_bucket) |> range(start: p_start, stop: p_stop)\n'
                          '  |> filter(fn: (r) => r._measurement == p_m)\n  |> first()\n',
                  {"p_bucket": bucket, "p_start": start, "p_stop": stop, "p_m": measurement})
    tag_keys = {k for r in rows for k in r if k not in RESERVED}
    keys = tags or partition_tags(bucket, tag_keys)
    values = sorted({tuple(r.get(k) for k in keys) for r in rows}, key=lambda v: tuple(x or "" for x in v))
    return keys, values


def partition_rows(client: InfluxDBClient, bucket: str, measurement: str, start: datetime, stop: datetime,
                   keys: tuple[str, ...], values: tuple[str | None, ...]) -> list[PointRow]:
    """Every point of one file, pivoted (one row per series and time), times in ns."""
    params: dict[str, Any] = {"p_bucket": bucket, "p_start": start, "p_stop": stop, "p_m": measurement}
    conditions = ["r._measurement == p_m"]
    for i, (k, v) in enumerate(zip(keys, values, strict=True)):
        col = f'r["{k}"]'
        if v is None:
            conditions.append(f"not exists {col}")
        else:
            params[f"p_v{i}"] = v
            conditions.append(f"{col} == p_v{i}")
    flux = ("from(bucket: p_bucket) |> range(start: p_start, stop: p_stop)\n"
            f"  |> filter(fn: (r) => {' and '.join(conditions)})\n"
            '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
            "  |> map(fn: (r) => ({r with _ns: int(v: r._time)}))\n")
    tables = client.query_api().query(flux, params=params)
    out: list[PointRow] = []
    for table in tables:
        tag_cols = [c.label for c in table.columns if c.group and c.label not in RESERVED]
        for rec in table.records:
            v = rec.values
            out.append(PointRow(v["_ns"], {k: v[k] for k in tag_cols if v.get(k) is not None},
                                {k: x for k, x in v.items() if k not in RESERVED and k not in tag_cols and x is not None}))
    return out


def run_backup(client: InfluxDBClient, bucket: str, day: date, out: Path, tags: tuple[str, ...] | None = None,
               max_files: int | None = None, log: Callable[[str], None] = print) -> Manifest:
    """Back up one day; returns the manifest (``complete`` once every file is done)."""
    start, stop = day_range(day)
    directory = day_dir(out, bucket, day)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.load(directory, bucket, day)
    plan = []
    for m in measurements(client, bucket, start, stop):
        keys, combos = partitions(client, bucket, m, start, stop, tags)
        plan += [(m, keys, values, relative_path(m, values)) for values in combos]
    log(f"[backup] {bucket} {day}: {len(plan)} files in {directory}")
    written = skipped = 0
    started = time.monotonic()
    for n, (m, keys, values, rel) in enumerate(plan, 1):
        if manifest.is_done(rel):
            skipped += 1
            log(f"[backup] {n}/{len(plan)} skip {rel} (complete)")
            continue
        if max_files is not None and written >= max_files:
            log(f"[backup] stopped after {written} files (--max-files); run again to resume")
            manifest.save()
            return manifest
        rows = partition_rows(client, bucket, m, start, stop, keys, values)
        meta = {"bucket": bucket, "day": day.isoformat(), **{f"tag.{k}": v or "" for k, v in zip(keys, values, strict=True)}}
        count = write_parquet(directory / rel, m, rows, meta)
        manifest.files[rel] = {"rows": count, "sha256": sha256_of(directory / rel), "measurement": m,
                               "tags": dict(zip(keys, values, strict=True))}
        manifest.save()
        written += 1
        log(f"[backup] {n}/{len(plan)} wrote {rel} rows={count}")
    manifest.complete = all(manifest.is_done(rel) for *_, rel in plan)
    manifest.save()
    log(f"[backup] done: {written} written, {skipped} skipped, {sum(f['rows'] for f in manifest.files.values())} rows, "
        f"{time.monotonic() - started:.1f}s, manifest {manifest.path}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jobs.backup", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--day", required=True, type=date.fromisoformat, help="UTC day to back up, YYYY-MM-DD")
    ap.add_argument("--bucket", default="crypto", help="bucket (default %(default)s)")
    ap.add_argument("--out", type=Path, default=Path("var/backups"), help="backup root (default %(default)s)")
    ap.add_argument("--partition-tags", help="comma-separated tags that split files (default: exchange,symbol for crypto)")
    ap.add_argument("--max-files", type=int, help="stop after writing this many files (a throttled or test run; resume later)")
    args = ap.parse_args(argv)
    configure_logging()
    if day_range(args.day)[1] > datetime.now(UTC):
        print(f"[backup] {args.day} is not over yet (UTC): refusing a backup that would be incomplete", file=sys.stderr)
        return 2
    tags = tuple(t.strip() for t in args.partition_tags.split(",")) if args.partition_tags else None
    with operator_client() as client:
        manifest = run_backup(client, args.bucket, args.day, args.out, tags, args.max_files)
    return 0 if manifest.complete else 3


if __name__ == "__main__":
    raise SystemExit(main())
