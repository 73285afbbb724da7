"""Load a daily backup (``jobs.backup``) back into InfluxDB.

    python -m jobs.restore --day 2026-11-24                     # var/backups/crypto/2026-11-24 -> bucket crypto
    python -m jobs.restore --day 2026-11-24 --bucket crypto --into crypto_restored

Every file of the manifest is checked against its sha256 first (a damaged file stops the restore
before anything is written). Points keep their exact times, tags and field types, so restoring twice
writes the same points again (InfluxDB keeps one per series and time): safe to repeat.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from jobs.backup_layout import Manifest, day_dir, sha256_of
from jobs.influx_admin import operator_client
from jobs.parquet_points import read_parquet, to_point
from settings.logs import configure_logging

CHUNK = 5000


def run_restore(client: InfluxDBClient, bucket: str, day: date, backups: Path, into: str | None = None,
                log: Callable[[str], None] = print) -> int:
    """Restore one backed-up day into ``into`` (default: the same bucket); returns the points written."""
    directory = day_dir(backups, bucket, day)
    manifest = Manifest.load(directory, bucket, day)
    if not manifest.files:
        raise SystemExit(f"no backup of {bucket} {day} in {directory}")
    if not manifest.complete:
        log(f"[restore] warning: the backup of {bucket} {day} is incomplete; restoring the {len(manifest.files)} finished files")
    for rel, entry in sorted(manifest.files.items()):
        if sha256_of(directory / rel) != entry["sha256"]:
            raise SystemExit(f"[restore] {rel}: sha256 differs from the manifest, nothing restored")
    target = into or bucket
    write = client.write_api(write_options=SYNCHRONOUS)
    total, started = 0, time.monotonic()
    try:
        for n, (rel, entry) in enumerate(sorted(manifest.files.items()), 1):
            measurement, rows = read_parquet(directory / rel)
            points = [to_point(measurement, r) for r in rows]
            for i in range(0, len(points), CHUNK):
                write.write(target, client.org, points[i : i + CHUNK])
            if len(points) != entry["rows"]:
                raise SystemExit(f"[restore] {rel}: {len(points)} rows read, manifest says {entry['rows']}")
            total += len(points)
            log(f"[restore] {n}/{len(manifest.files)} {rel} rows={len(points)} -> {target}")
    finally:
        write.close()
    log(f"[restore] done: {total} points into {target} in {time.monotonic() - started:.1f}s")
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jobs.restore", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--day", required=True, type=date.fromisoformat, help="UTC day of the backup, YYYY-MM-DD")
    ap.add_argument("--bucket", default="crypto", help="bucket the backup was taken from (default %(default)s)")
    ap.add_argument("--into", help="bucket to write into (default: the same bucket)")
    ap.add_argument("--in", dest="backups", type=Path, default=Path("var/backups"), help="backup root (default %(default)s)")
    args = ap.parse_args(argv)
    configure_logging()
    with operator_client() as client:
        run_restore(client, args.bucket, args.day, args.backups, args.into)
    return 0


if __name__ == "__main__":
    sys.exit(main())
