"""Fleet report for a vehicle, a fleet or everything over a date range: CSV, XLSX and PDF files.

    python -m jobs.fleet_report --from 2026-12-01 --to 2026-12-03 --fleet logistics --out var/reports
    python -m jobs.fleet_report --days 1 --vehicles van-01,van-02 --formats pdf --tz Europe/Berlin

Reads the trips, alerts and fixes InfluxDB holds (read-only token), computes stops and daily
summaries per vehicle and per driver (docs/reports.md), and writes
``<stem>-summary_vehicles.csv`` ... ``<stem>.xlsx`` ``<stem>.pdf`` into ``--out``. Progress per
vehicle on stderr. Exit 0 when written, 2 on bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from influxdb_client import InfluxDBClient

from jobs.fleet_report_build import Report, VehicleRecords, build_report
from jobs.fleet_report_data import read_records
from jobs.fleet_report_files import write_files
from rules.fleet.registry import Registry
from settings.errors import ConfigError
from settings.geodata import place_index
from settings.logs import configure_logging
from settings.registry_files import load_registry
from settings.rules_env import load_fleet_settings
from settings.stack import StackSettings, load_stack_settings

FORMATS = ("csv", "xlsx", "pdf")


def select_vehicles(registry: Registry, vehicles: list[str] | None, fleet: str | None) -> list[str]:
    """The registry's vehicles named, or of the fleet, or all; raises ValueError for unknown ones."""
    if vehicles:
        unknown = sorted(set(vehicles) - set(registry.vehicles))
        if unknown:
            raise ValueError(f"unknown vehicles {unknown}")
        return sorted(vehicles)
    if fleet:
        if fleet not in registry.fleets:
            raise ValueError(f"unknown fleet {fleet!r}")
        return sorted(v for v, x in registry.vehicles.items() if x.fleet_id == fleet)
    return sorted(registry.vehicles)


def period(start_day: date, end_day: date, tz: str) -> tuple[datetime, datetime]:
    """Local midnight of ``start_day`` to local midnight after ``end_day`` (both days included)."""
    z = ZoneInfo(tz)
    return (datetime.combine(start_day, datetime.min.time(), tzinfo=z),
            datetime.combine(end_day + timedelta(days=1), datetime.min.time(), tzinfo=z))


def report_client(stack: StackSettings) -> InfluxDBClient:
    return InfluxDBClient(url=stack.influx_url, token=stack.reader_token(allow_operator_token=True), org=stack.influx_org,
                          timeout=120_000)


def make_report(client: InfluxDBClient, bucket: str, registry: Registry, vehicles: list[str], start: datetime, stop: datetime,
                tz: str, title: str, log: bool = True) -> Report:
    """Read and build; one progress line per vehicle on stderr when ``log``."""
    began = time.monotonic()

    def progress(done: int, total: int, rec: VehicleRecords) -> None:
        if log:
            print(f"[fleet_report] {done}/{total} {rec.vehicle_id}: {len(rec.trips)} trips, {len(rec.alerts)} alerts, "
                  f"{len(rec.samples)} fixes ({time.monotonic() - began:.1f}s)", file=sys.stderr, flush=True)

    records = read_records(client, bucket, vehicles, start, stop, progress)
    return build_report(records, registry, start, stop, tz, load_fleet_settings(), place_index(), title=title)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m jobs.fleet_report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="from_day", type=date.fromisoformat, help="first local day, YYYY-MM-DD (default: --days before today)")
    ap.add_argument("--to", dest="to_day", type=date.fromisoformat, help="last local day, included (default: yesterday)")
    ap.add_argument("--days", type=int, default=1, help="without --from: this many days up to --to (default %(default)s)")
    ap.add_argument("--vehicles", help="comma-separated vehicle ids (default: all of --fleet, or every vehicle)")
    ap.add_argument("--fleet", help="fleet id")
    ap.add_argument("--tz", help="IANA time zone of days and times (default: the fleet's, else UTC)")
    ap.add_argument("--formats", default="csv,xlsx,pdf", help="comma-separated of csv, xlsx, pdf (default %(default)s)")
    ap.add_argument("--out", type=Path, default=Path("var/reports"), help="output folder (default %(default)s)")
    ap.add_argument("--stem", default="fleet-report", help="file name stem (default %(default)s)")
    ap.add_argument("--title", default="Fleet report", help="title printed on the PDF")
    ap.add_argument("--vehicles-file", default="config/vehicles.json", help="registry file (default %(default)s)")
    ap.add_argument("--bucket", help="InfluxDB bucket (default INFLUX_BUCKET_FLEET)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    try:
        registry = load_registry(args.vehicles_file)
        vehicles = select_vehicles(registry, args.vehicles.split(",") if args.vehicles else None, args.fleet)
        fleet = registry.fleets.get(args.fleet) if args.fleet else None
        tz = args.tz or (fleet.timezone if fleet and fleet.timezone else "UTC")
        ZoneInfo(tz)
        formats = tuple(f.strip() for f in args.formats.split(","))
        if bad := [f for f in formats if f not in FORMATS]:
            raise ValueError(f"unknown formats {bad}; choose from {FORMATS}")
        today = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
        to_day = args.to_day or today - timedelta(days=1)
        from_day = args.from_day or to_day - timedelta(days=args.days - 1)
        if from_day > to_day:
            raise ValueError(f"--from {from_day} is after --to {to_day}")
        stack = load_stack_settings()
    except (ValueError, ConfigError, ZoneInfoNotFoundError) as exc:
        print(f"[fleet_report] {exc}", file=sys.stderr)
        return 2
    start, stop = period(from_day, to_day, tz)
    print(f"[fleet_report] {len(vehicles)} vehicles, {from_day} .. {to_day} ({tz})", file=sys.stderr, flush=True)
    with report_client(stack) as client:
        report = make_report(client, args.bucket or stack.influx_bucket_fleet, registry, vehicles, start, stop, tz, args.title)
    for path in write_files(report, args.out, formats, args.stem):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
