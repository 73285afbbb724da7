"""Scheduled report e-mails through a local SMTP server (aiosmtpd), from a bucket of their own:
exactly once per period and address, with the right attachments; a failed send is retried."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from influxdb_client import InfluxDBClient
from pypdf import PdfReader

from contracts.alert import make_alert
from contracts.registry import Fleet, Vehicle
from contracts.trip import Trip
from jobs import fleet_report_schedule as S
from notifier.channels.email import SmtpConfig
from rules.fleet.registry import Registry
from sinks.influx_points.fleet_analytics import alert_point, trip_point
from tests.dashboard.seed import write
from tests.integration.test_incident_lifecycle import smtp  # noqa: F401 - the aiosmtpd fixture
from tests.integration.test_notifier import Mailbox, free_port
from tests.support.buckets import temp_bucket
from tests.support.services import require_stack, unique

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday: daily = 11-24, weekly = 11-16..11-22


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def trip(vid: str, start: datetime, km: float) -> Trip:
    return Trip(f"t-{ms(start)}", vid, "f", ms(start), ms(start) + 1_200_000, 48.8566, 2.3522, 48.9362, 2.3574, km, 1200.0, 70.0,
                km * 3, 0.0, start_place="Paris, Île-de-France, FR", end_place="Saint-Denis, Île-de-France, FR")


def test_daily_and_weekly_reports_arrive_once_per_period(tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:  # noqa: F811
    s = require_stack()
    mailbox, port = smtp
    run = unique("rs")
    vid = f"{run}-van"
    registry = Registry(fleets={"f": Fleet(id="f", name="F", timezone="UTC")},
                        vehicles={vid: Vehicle(id=vid, name="Van", fleet_id="f", owner="ann")})
    doc = {"recipients": {"ops": {"emails": ["a@example.com", "b@example.com"]}, "boss": {"emails": ["boss@example.com"]},
                          "hooks": {"webhooks": ["http://127.0.0.1:1/x"]}},
           "reports": [{"id": "ops-daily", "recipient": "ops", "period": "daily", "fleet": "f", "formats": ["pdf", "xlsx", "csv"]},
                       {"id": "boss-weekly", "recipient": "boss", "period": "weekly", "vehicles": [vid], "formats": ["xlsx"]}]}
    schedules = S.parse_schedules(doc, "recipients.json")
    smtp_ok = SmtpConfig(host="127.0.0.1", port=port, tls="none", sender="reports@ticktrack.test")
    deliveries = S.DeliveryLog(tmp_path / "deliveries.sqlite")
    with temp_bucket(s, f"{run}-fleet") as bucket, \
            InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=60_000) as client:
        write(client, bucket, s.influx_org, [
            trip_point(trip(vid, datetime(2026, 11, 24, 8, 0, tzinfo=UTC), 12.5)),  # yesterday
            trip_point(trip(vid, datetime(2026, 11, 20, 8, 0, tzinfo=UTC), 30.0)),  # last week
            trip_point(trip(vid, datetime(2026, 11, 10, 8, 0, tzinfo=UTC), 99.0)),  # in no due period
            alert_point(make_alert(vehicle_id=vid, fleet_id="f", type="overspeed", severity="warning", ts=ms(datetime(2026, 11, 24, 8, 5,
                                   tzinfo=UTC)), episode_ts=1, message="=cmd", lat=48.9, lon=2.35)),
        ])
        # a send that fails (nothing listens on that port) is logged failed and retried by the next run
        dead = SmtpConfig(host="127.0.0.1", port=free_port(), tls="none", sender="reports@ticktrack.test", timeout_s=2)
        assert S.run_due(schedules, registry, client, bucket, dead, deliveries, NOW, 900) == {"sent": 0, "skipped": 0, "failed": 3}
        assert mailbox.messages == []
        assert S.run_due(schedules, registry, client, bucket, smtp_ok, deliveries, NOW, 900) == {"sent": 3, "skipped": 0, "failed": 0}
        assert S.run_due(schedules, registry, client, bucket, smtp_ok, deliveries, NOW + timedelta(hours=5), 900) == {
            "sent": 0, "skipped": 3, "failed": 0}
        assert len(mailbox.messages) == 3
        nxt = S.run_due(schedules, registry, client, bucket, smtp_ok, deliveries, NOW + timedelta(days=1), 900)
        assert nxt == {"sent": 2, "skipped": 1, "failed": 0}  # a new day; the same week
    assert deliveries.rows() == [
        ("boss-weekly", "2026-11-16..2026-11-22", "boss@example.com", "sent"),
        ("ops-daily", "2026-11-24", "a@example.com", "sent"), ("ops-daily", "2026-11-24", "b@example.com", "sent"),
        ("ops-daily", "2026-11-25", "a@example.com", "sent"), ("ops-daily", "2026-11-25", "b@example.com", "sent")]

    by = {(tuple(rcpt), m["Subject"]): m for rcpt, m in mailbox.messages}
    assert sorted(by) == [(("a@example.com",), "[ticktrack] daily fleet report 2026-11-24"),
                          (("a@example.com",), "[ticktrack] daily fleet report 2026-11-25"),
                          (("b@example.com",), "[ticktrack] daily fleet report 2026-11-24"),
                          (("b@example.com",), "[ticktrack] daily fleet report 2026-11-25"),
                          (("boss@example.com",), "[ticktrack] weekly fleet report 2026-11-16..2026-11-22")]
    daily = by[(("a@example.com",), "[ticktrack] daily fleet report 2026-11-24")]
    files = {p.get_filename(): p.get_content() for p in daily.iter_attachments()}
    assert sorted(files) == ["fleet-report-2026-11-24-csv.zip", "fleet-report-2026-11-24.pdf", "fleet-report-2026-11-24.xlsx"]
    assert f"{vid}: 1 trips, 12.5 km" in daily.get_body(("plain",)).get_content()
    pdf_text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(files["fleet-report-2026-11-24.pdf"])).pages).split())
    assert "Saint-Denis, Île-de-France, FR" in pdf_text and "12.5" in pdf_text
    ws = openpyxl.load_workbook(io.BytesIO(files["fleet-report-2026-11-24.xlsx"]))["Events"]
    assert ws["G2"].value == "'=cmd"  # escaped, not a formula
    weekly = by[(("boss@example.com",), "[ticktrack] weekly fleet report 2026-11-16..2026-11-22")]
    [xlsx] = [p.get_content() for p in weekly.iter_attachments()]
    trips = openpyxl.load_workbook(io.BytesIO(xlsx))["Trips"]
    assert trips.max_row == 2 and trips["G2"].value == 30.0  # only last week's trip
    empty = by[(("b@example.com",), "[ticktrack] daily fleet report 2026-11-25")]
    assert "No trips, stops or alerts in this period." in empty.get_body(("plain",)).get_content()


def test_bad_schedules_name_the_key() -> None:
    base = {"recipients": {"ops": {"emails": ["a@example.com"]}, "hook": {"webhooks": ["http://x"]}}}
    for entry, message in [({"recipient": "nobody", "period": "daily"}, "reports[0].recipient"),
                           ({"recipient": "hook", "period": "daily"}, "reports[0].recipient"),
                           ({"recipient": "ops", "period": "monthly"}, "reports[0].period"),
                           ({"recipient": "ops", "period": "daily", "formats": ["docx"]}, "reports[0].formats"),
                           ({"recipient": "ops", "period": "daily", "tz": "Mars/Olympus"}, "reports[0].tz"),
                           ({"recipient": "ops", "period": "daily", "every": 1}, "unknown keys ['every']")]:
        with pytest.raises(S.ScheduleError, match=message.replace("[", r"\[").replace("]", r"\]")):
            S.parse_schedules({**base, "reports": [entry]}, "recipients.json")
    assert S.parse_schedules(base, "recipients.json") == []
