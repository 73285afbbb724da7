"""Scheduled fleet reports by e-mail: daily or weekly per recipient, exactly once per period.

    python -m jobs.fleet_report_schedule            # send what is due now, then exit (cron, a timer)
    python -m jobs.fleet_report_schedule --every-s 300   # keep running, check every 5 minutes

Schedules live in the notifier's recipients file, key ``reports`` (docs/reports.md), naming a
recipient of that file (its ``emails``), ``daily`` or ``weekly``, the vehicles (``vehicles`` or a
``fleet``; default every vehicle) and the formats. Mail goes through the notifier's SMTP settings
(``NOTIFIER_SMTP_*``). The period due is the last complete one in the schedule's time zone:
yesterday, or last Monday..Sunday. Each (schedule, period, address) is claimed in a SQLite delivery
log before the send and marked ``sent`` after it: a second run, or a second process, sends nothing;
a failed send is retried by the next run; a claim left by a process killed mid-send is retried
after ``REPORTS_CLAIM_STALE_S`` (at least once, then: a rare duplicate rather than a lost report).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import structlog
from influxdb_client import InfluxDBClient
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobs.fleet_report import make_report, period, report_client, select_vehicles
from jobs.fleet_report_build import Report
from jobs.fleet_report_files import csv_zip, pdf_bytes, xlsx_bytes
from notifier.channels.email import SmtpConfig, send_message, text
from notifier.config import NotifierSettings, repo_path
from notifier.retry import Outcome
from rules.fleet.registry import Registry
from settings.errors import load_settings
from settings.logs import configure_logging
from settings.registry_files import load_registry
from settings.stack import load_stack_settings

Period = Literal["daily", "weekly"]
FORMATS = ("pdf", "xlsx", "csv")
log = structlog.get_logger("fleet_report_schedule")


class ReportScheduleSettings(BaseSettings):
    """Scheduled e-mail reports (python -m jobs.fleet_report_schedule). Env prefix ``REPORTS_``."""

    model_config = SettingsConfigDict(env_prefix="REPORTS_", extra="ignore")

    recipients_file: str = Field("config/recipients.json", description="the notifier's recipients file; its 'reports' key holds the schedules")
    vehicles_file: str = Field("config/vehicles.json", description="registry: vehicles, fleets (time zone), owners (drivers)")
    deliveries_db: str = Field("var/reports/deliveries.sqlite", description="SQLite delivery log: one row per schedule, period and address")
    claim_stale_s: float = Field(900.0, gt=0, description="s; a claim without an outcome this old (a killed run) is retried")


class ScheduleError(ValueError):
    """A bad ``reports`` entry; the message names the file and the key."""


@dataclass(frozen=True)
class ReportSchedule:
    id: str
    recipient: str
    emails: tuple[str, ...]
    period: Period
    vehicles: tuple[str, ...] = ()
    fleet: str | None = None
    formats: tuple[str, ...] = ("pdf", "xlsx")
    tz: str | None = None


_KEYS = {"id", "recipient", "period", "vehicles", "fleet", "formats", "tz"}


def parse_schedules(doc: Any, source: str) -> list[ReportSchedule]:
    """The ``reports`` list of a recipients document (none = no schedule)."""
    if not isinstance(doc, dict):
        raise ScheduleError(f"{source}: not a JSON object")
    recipients = doc.get("recipients") or {}
    out: list[ReportSchedule] = []
    for i, item in enumerate(doc.get("reports") or []):
        where = f"{source}: reports[{i}]"
        if not isinstance(item, dict):
            raise ScheduleError(f"{where}: must be an object")
        if unknown := sorted(set(item) - _KEYS - {"$comment"}):
            raise ScheduleError(f"{where}: unknown keys {unknown}")
        name = item.get("recipient")
        if name not in recipients or not (recipients[name] or {}).get("emails"):
            raise ScheduleError(f"{where}.recipient: {name!r} is not a recipient with emails in this file")
        per = item.get("period")
        if per not in ("daily", "weekly"):
            raise ScheduleError(f"{where}.period: {per!r} is not 'daily' or 'weekly'")
        formats = tuple(item.get("formats") or ("pdf", "xlsx"))
        if bad := [f for f in formats if f not in FORMATS]:
            raise ScheduleError(f"{where}.formats: unknown {bad}; choose from {list(FORMATS)}")
        tz = item.get("tz")
        if tz is not None:
            try:
                ZoneInfo(tz)
            except Exception as exc:  # noqa: BLE001 - any unreadable zone is the same mistake
                raise ScheduleError(f"{where}.tz: unknown time zone {tz!r}") from exc
        sid = str(item.get("id") or f"{name}-{per}-{i}")
        if any(s.id == sid for s in out):
            raise ScheduleError(f"{where}.id: duplicate {sid!r}")
        out.append(ReportSchedule(sid, str(name), tuple(recipients[name]["emails"]), per, tuple(item.get("vehicles") or ()),
                                  item.get("fleet"), formats, tz))
    return out


def due_period(per: Period, now: datetime, tz: str) -> tuple[date, date]:
    """The last complete period before ``now`` in ``tz``: yesterday, or last Monday..Sunday."""
    today = now.astimezone(ZoneInfo(tz)).date()
    if per == "daily":
        return today - timedelta(days=1), today - timedelta(days=1)
    last_sunday = today - timedelta(days=today.isoweekday())
    return last_sunday - timedelta(days=6), last_sunday


class DeliveryLog:
    """Which (schedule, period, address) has been claimed, sent or failed."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS report_deliveries (schedule_id TEXT, period TEXT, address TEXT, status TEXT, "
                         "updated REAL, detail TEXT, PRIMARY KEY (schedule_id, period, address))")

    def claim(self, schedule_id: str, period_key: str, address: str, now: float, stale_s: float) -> bool:
        """True = this caller sends it: never claimed, failed before, or claimed by a run that died."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT status, updated FROM report_deliveries WHERE schedule_id=? AND period=? AND address=?",
                                   (schedule_id, period_key, address)).fetchone()
            if row is not None and (row[0] == "sent" or (row[0] == "sending" and now - row[1] < stale_s)):
                self._db.execute("COMMIT")
                return False
            self._db.execute("INSERT OR REPLACE INTO report_deliveries VALUES (?, ?, ?, 'sending', ?, '')",
                             (schedule_id, period_key, address, now))
            self._db.execute("COMMIT")
        return True

    def finish(self, schedule_id: str, period_key: str, address: str, status: str, detail: str, now: float) -> None:
        self._db.execute("UPDATE report_deliveries SET status=?, detail=?, updated=? WHERE schedule_id=? AND period=? AND address=?",
                         (status, detail, now, schedule_id, period_key, address))

    def rows(self) -> list[tuple[str, str, str, str]]:
        return list(self._db.execute("SELECT schedule_id, period, address, status FROM report_deliveries ORDER BY 1, 2, 3"))

    def close(self) -> None:
        self._db.close()


def report_message(report: Report, sched: ReportSchedule, period_key: str, to: str, sender: str) -> EmailMessage:
    """Subject, a plain-text summary per vehicle, the chosen files attached; a stable Message-ID."""
    msg = EmailMessage()
    msg["Subject"] = text(f"[ticktrack] {sched.period} fleet report {period_key}", 200)
    msg["From"], msg["To"], msg["Date"] = sender, to, formatdate(usegmt=True)
    msg["Message-ID"] = f"<report-{sched.id}-{period_key}-{to}@{sender.rpartition('@')[2] or 'ticktrack'}>".replace(" ", "")
    msg["X-Ticktrack-Report"] = text(f"{sched.id} {period_key}", 200)
    days = report.tables["summary_vehicles"]
    lines = [report.title, report.period(), ""]
    for vid, rows in days.groupby("vehicle_id", sort=True):
        lines.append(f"{text(vid, 80)}: {int(rows['trips'].sum())} trips, {rows['distance_km'].sum():.1f} km, "
                     f"{int(rows['stops'].sum())} stops, score {rows['safety_score'].min():.1f} (lowest day)")
    if days.empty:
        lines.append("No trips, stops or alerts in this period.")
    lines += ["", "Attached: " + ", ".join(sched.formats), "-- ", "ticktrack reports"]
    msg.set_content("\n".join(lines) + "\n")
    stem = f"fleet-report-{period_key}"
    if "pdf" in sched.formats:
        msg.add_attachment(pdf_bytes(report), maintype="application", subtype="pdf", filename=f"{stem}.pdf")
    if "xlsx" in sched.formats:
        msg.add_attachment(xlsx_bytes(report), maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=f"{stem}.xlsx")
    if "csv" in sched.formats:
        msg.add_attachment(csv_zip(report), maintype="application", subtype="zip", filename=f"{stem}-csv.zip")
    return msg


def run_due(schedules: Sequence[ReportSchedule], registry: Registry, client: InfluxDBClient, bucket: str, smtp: SmtpConfig,
            deliveries: DeliveryLog, now: datetime, claim_stale_s: float,
            send: Callable[[SmtpConfig, EmailMessage, str], Any] = send_message) -> dict[str, int]:
    """Send every schedule's due period to each address not yet served; counts by outcome."""
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    for sched in schedules:
        fleet = registry.fleets.get(sched.fleet) if sched.fleet else None
        tz = sched.tz or (fleet.timezone if fleet and fleet.timezone else "UTC")
        first, last = due_period(sched.period, now, tz)
        period_key = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
        claimed = [a for a in sched.emails if deliveries.claim(sched.id, period_key, a, now.timestamp(), claim_stale_s)]
        counts["skipped"] += len(sched.emails) - len(claimed)
        if not claimed:
            continue
        start, stop = period(first, last, tz)
        vehicles = select_vehicles(registry, list(sched.vehicles) or None, sched.fleet)
        report = make_report(client, bucket, registry, vehicles, start, stop, tz, f"Fleet report {period_key}", log=False)
        for address in claimed:
            result = send(smtp, report_message(report, sched, period_key, address, smtp.sender), address)
            ok = result.outcome == Outcome.SENT
            deliveries.finish(sched.id, period_key, address, "sent" if ok else "failed", result.detail, time.time())
            counts["sent" if ok else "failed"] += 1
            (log.info if ok else log.warning)("report_delivery", schedule=sched.id, period=period_key, address=address,
                     status="sent" if ok else "failed", detail=result.detail)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m jobs.fleet_report_schedule", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--every-s", type=float, default=0.0, help="keep running, checking every this many seconds (default: once)")
    args = ap.parse_args(argv)
    configure_logging()
    try:
        settings = load_settings(ReportScheduleSettings)
        notifier = load_settings(NotifierSettings)
        path = repo_path(settings.recipients_file)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ScheduleError(f"{path}: {exc}") from exc
        schedules = parse_schedules(doc, str(path))
        registry = load_registry(repo_path(settings.vehicles_file))
        if schedules and not notifier.smtp_host:
            raise ScheduleError("NOTIFIER_SMTP_HOST is not set: scheduled reports are sent through the notifier's SMTP settings")
        stack = load_stack_settings()
    except (ValueError, SystemExit) as exc:
        print(f"[fleet_report_schedule] {exc}", file=sys.stderr)
        return 2
    deliveries = DeliveryLog(repo_path(settings.deliveries_db))
    try:
        with report_client(stack) as client:
            while True:
                counts = run_due(schedules, registry, client, stack.influx_bucket_fleet, notifier.smtp(), deliveries,
                                 datetime.now(UTC), settings.claim_stale_s)
                print(f"[fleet_report_schedule] {len(schedules)} schedules: {counts}", file=sys.stderr, flush=True)
                if args.every_s <= 0:
                    return 0 if counts["failed"] == 0 else 1
                time.sleep(args.every_s)
    except KeyboardInterrupt:
        return 0
    finally:
        deliveries.close()


if __name__ == "__main__":
    raise SystemExit(main())
