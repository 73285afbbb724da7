"""Fleet report exports read back: CSV and XLSX cell values, PDF text and its route image."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from contracts.alert import make_alert
from contracts.registry import Vehicle
from contracts.trip import Trip
from jobs.fleet_report_build import Report, VehicleRecords, build_report
from jobs.fleet_report_files import csv_zip, pdf_bytes, route_png, write_files, xlsx_bytes
from rules.fleet.config import FleetSettings
from rules.fleet.registry import Registry
from rules.fleet.stops import Sample
from settings.geodata import place_index

T0 = int(datetime(2025, 11, 24, 8, 0, tzinfo=UTC).timestamp() * 1000)  # 09:00 in Berlin


def _records() -> list[VehicleRecords]:
    """v1 drives 10 min from Paris centre north, parks 10 min with the engine on 2 min, drives on 10 min."""
    samples = []
    for i in range(31):  # one fix a minute
        t = T0 + i * 60_000
        moving = not 10 <= i < 20
        lat = 48.8566 + (min(i, 10) + max(0, i - 20)) * 0.01
        samples.append(Sample(t, lat, 2.3522, 60.0 if moving else 0.0, True if (moving or i < 12) else False, fuel_level_pct=80 - i * 0.2))
    trips = [Trip("t1", "v1", "f1", T0, T0 + 600_000, 48.8566, 2.3522, 48.9566, 2.3522, 11.1, 600.0, 60.0, 66.6, 0.0),
             Trip("t2", "v1", "f1", T0 + 1_200_000, T0 + 1_800_000, 48.9566, 2.3522, 49.0566, 2.3522, 11.1, 600.0, 60.0, 66.6, 0.0,
                  start_place="Stored start, X, FR")]
    alerts = [make_alert(vehicle_id="v1", fleet_id="f1", type="harsh_braking", severity="warning", ts=T0 + 300_000,
                         episode_ts=T0 + 300_000, message="v1 braked hard", lat=48.9066, lon=2.3522)]
    return [VehicleRecords("v1", trips, alerts, samples)]


@pytest.fixture(scope="module")
def report() -> Report:
    registry = Registry(vehicles={"v1": Vehicle(id="v1", name="Van", fleet_id="f1", owner="ann")})
    start, stop = datetime(2025, 11, 24, tzinfo=UTC), datetime(2025, 11, 25, tzinfo=UTC)
    return build_report(_records(), registry, start, stop, "Europe/Berlin", FleetSettings(), place_index(), title="Daily report")


def test_tables(report: Report) -> None:
    """Stop 08:10-08:20 UTC (fixes 10..19 stopped, 20 moves), engine on for 2 of its 10 min."""
    stops = report.tables["stops"]
    assert len(stops) == 1
    row = stops.iloc[0]
    assert (row["start"], row["end"], row["duration_min"], row["idle_min"], bool(row["ignition_off"])) == (
        "2025-11-24 09:10:00", "2025-11-24 09:20:00", 10.0, 2.0, True)
    trips = report.tables["trips"]
    assert list(trips["start_place"]) == [place_index().label(48.8566, 2.3522), "Stored start, X, FR"]
    assert list(trips["harsh_events"]) == [1, 0]  # the braking alert fell inside t1
    [day] = report.tables["summary_vehicles"].to_dict("records")
    # 22.2 km in 1200 s driving = 66.6 km/h; idle = the stop's 2 min; fuel 80 -> 74 = 6.0 % points
    assert (day["day"], day["driver"], day["trips"], day["distance_km"], day["driving_min"], day["idle_min"]) == (
        "2025-11-24", "ann", 2, 22.2, 20.0, 2.0)
    assert (day["mean_speed_kmh"], day["stops"], day["alerts"], day["fuel_used_pct"]) == (66.6, 1, "harsh_braking 1", 6.0)
    # one harsh braking (weight 2) on 22.2 km: 100 - 2 x 100 / 22.2 = 91.0
    assert day["safety_score"] == 91.0
    assert list(report.tables["summary_drivers"]["driver"]) == ["ann"]


def test_csv_read_back(report: Report) -> None:
    with zipfile.ZipFile(io.BytesIO(csv_zip(report))) as z:
        assert sorted(z.namelist()) == ["events.csv", "stops.csv", "summary_drivers.csv", "summary_vehicles.csv", "trips.csv"]
        rows = list(csv.DictReader(io.StringIO(z.read("summary_vehicles.csv").decode())))
        events = list(csv.DictReader(io.StringIO(z.read("events.csv").decode())))
    assert len(rows) == 1 and rows[0]["distance_km"] == "22.2" and rows[0]["safety_score"] == "91.0"
    assert [(e["time"], e["type"], e["message"]) for e in events] == [("2025-11-24 09:05:00", "harsh_braking", "v1 braked hard")]


def test_xlsx_read_back(report: Report) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(report)))
    assert wb.sheetnames == ["Summary per vehicle", "Summary per driver", "Trips", "Stops", "Events"]
    ws = wb["Summary per vehicle"]
    header = [c.value for c in ws[1]]
    values = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert values["distance_km"] == 22.2 and values["trips"] == 2 and values["driver"] == "ann"
    assert ws.max_row == 2
    trips = wb["Trips"]
    assert trips.max_row == 3 and [c.value for c in trips[3]][4] == "Stored start, X, FR"


def test_pdf_text_and_route_image(report: Report, tmp_path: Path) -> None:
    data = pdf_bytes(report)
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Daily report" in text and "2025-11-24 01:00 - 2025-11-25 01:00 (Europe/Berlin)" in text
    assert "Summary per vehicle" in text and "Stored start, X, FR" in text and "91.0" in text
    images = [img for p in reader.pages for img in p.images]
    assert len(images) == 1
    png = route_png(report)
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"
    written = write_files(report, tmp_path, ("csv", "xlsx", "pdf"), stem="r")
    assert sorted(p.name for p in written) == ["r-events.csv", "r-stops.csv", "r-summary_drivers.csv", "r-summary_vehicles.csv",
                                               "r-trips.csv", "r.pdf", "r.xlsx"]


def test_an_empty_report_still_exports() -> None:
    empty = build_report([], Registry(), datetime(2025, 11, 24, tzinfo=UTC), datetime(2025, 11, 25, tzinfo=UTC), "UTC",
                         FleetSettings(), place_index())
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf_bytes(empty))).pages)
    assert "No positions in this period." in text and "none in this period" in text
    assert openpyxl.load_workbook(io.BytesIO(xlsx_bytes(empty)))["Trips"].max_row == 1


def test_formula_text_is_not_run_by_a_spreadsheet(report: Report) -> None:
    """An alert message starting with '=' arrives as text, in CSV and in XLSX."""
    import dataclasses

    events = report.tables["events"].copy()
    events.loc[0, "message"] = "=HYPERLINK(\"http://x\")"
    evil = dataclasses.replace(report, tables={**report.tables, "events": events})
    with zipfile.ZipFile(io.BytesIO(csv_zip(evil))) as z:
        assert list(csv.DictReader(io.StringIO(z.read("events.csv").decode())))[0]["message"] == "'=HYPERLINK(\"http://x\")"
    cell = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(evil)))["Events"]["G2"]
    assert (cell.value, cell.data_type) == ("'=HYPERLINK(\"http://x\")", "s")


def test_gpx_read_back() -> None:
    import gpxpy

    from jobs.fleet_report_files import gpx_bytes
    from rules.fleet.stops import Stop

    samples = _records()[0].samples
    stop = Stop("v1", T0 + 600_000, T0 + 1_200_000, 48.9566, 2.3522, 120.0, True, place="Villetaneuse, Île-de-France, FR")
    gpx = gpxpy.parse(gpx_bytes("v1", samples, [stop]).decode())
    points = gpx.tracks[0].segments[0].points
    assert gpx.tracks[0].name == "v1" and len(points) == 31
    assert (points[0].latitude, points[0].longitude, points[0].time) == (48.8566, 2.3522, datetime(2025, 11, 24, 8, 0, tzinfo=UTC))
    assert [(w.name, w.description) for w in gpx.waypoints] == [("Villetaneuse, Île-de-France, FR", "stop 10.0 min")]
