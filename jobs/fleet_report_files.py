"""A fleet report as files: CSV (one per table), XLSX (one sheet per table), PDF (route map + tables).

All return bytes, so the CLI writes them, the dashboard offers them as downloads and the scheduled
e-mails attach them, unchanged. The PDF's map is the route drawn by matplotlib on longitude /
latitude axes (scaled so a km is a km both ways), coloured by speed, with the stops marked and
the start and end places named; no tile basemap (tiles would need an online map server).
Fonts: DejaVu Sans from matplotlib's own data, so place names outside Latin-1 print.
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import gpxpy.gpx
import matplotlib
import pandas as pd
from fpdf import FPDF
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from jobs.fleet_report_build import TABLES, Report
from rules.fleet.stops import Sample, Stop
from rules.spreadsheet import spreadsheet_safe

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
FONT_BOLD = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
SHEET_TITLES = {"summary_vehicles": "Summary per vehicle", "summary_drivers": "Summary per driver", "trips": "Trips",
                "stops": "Stops", "events": "Events"}
PDF_TABLES = {  # the columns that fit a landscape A4 page
    "summary_vehicles": ["day", "vehicle_id", "driver", "trips", "distance_km", "driving_min", "idle_min", "max_speed_kmh",
                         "mean_speed_kmh", "stops", "fuel_used_pct", "safety_score"],
    "summary_drivers": ["day", "driver", "vehicles", "trips", "distance_km", "driving_min", "idle_min", "max_speed_kmh",
                        "mean_speed_kmh", "stops", "fuel_used_pct", "safety_score"],
    "trips": ["vehicle_id", "start", "end", "start_place", "end_place", "distance_km", "duration_min", "max_speed_kmh", "score"],
    "stops": ["vehicle_id", "start", "end", "duration_min", "place", "idle_min"],
}


def csv_files(report: Report) -> dict[str, bytes]:
    """``<table>.csv`` -> UTF-8 CSV bytes, one per table."""
    return {f"{name}.csv": spreadsheet_safe(report.tables[name]).to_csv(index=False).encode("utf-8") for name in TABLES}


def csv_zip(report: Report) -> bytes:
    """The CSV files in one zip (one download button)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in csv_files(report).items():
            z.writestr(name, data)
    return buf.getvalue()


def xlsx_bytes(report: Report) -> bytes:
    """One workbook, a sheet per table (openpyxl), numbers as numbers."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name in TABLES:
            spreadsheet_safe(report.tables[name]).to_excel(xl, sheet_name=SHEET_TITLES[name], index=False)
    return buf.getvalue()


def route_png(report: Report, width_in: float = 10.0, height_in: float = 5.0) -> bytes | None:
    """The routes of the report as a PNG, None when there is no position."""
    points = [p for route in report.routes.values() for p in route]
    if not points:
        return None
    # a Figure without pyplot: no global figure registry, safe in the dashboard's threads
    fig = Figure(figsize=(width_in, height_in), dpi=120)
    ax = fig.subplots()
    vmax = max(max(p[2] for p in points), 1.0)
    for vid, route in sorted(report.routes.items()):
        if len(route) >= 2:
            segs = [[(a[1], a[0]), (b[1], b[0])] for a, b in zip(route, route[1:], strict=False)]
            lc = LineCollection(segs, cmap="viridis", norm=Normalize(0, vmax), linewidths=2.5)
            lc.set_array([(a[2] + b[2]) / 2 for a, b in zip(route, route[1:], strict=False)])
            ax.add_collection(lc)
        if route:
            ax.annotate(vid, (route[0][1], route[0][0]), fontsize=8)
        for s in report.stops.get(vid, []):
            ax.plot(s.lon, s.lat, marker="s", color="crimson", markersize=6)
    # a landscape box (1.6 : 1 in km) around the routes, 10 % margin, at least 1 km wide
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    k = max(math.cos(math.radians((max(lats) + min(lats)) / 2)), 0.01)  # km per degree of longitude / of latitude
    w_deg = max((max(lons) - min(lons)) * k, 1.6 * (max(lats) - min(lats)), 0.009) * 1.2  # in degrees of latitude
    cx, cy = (max(lons) + min(lons)) / 2, (max(lats) + min(lats)) / 2
    ax.set_xlim(cx - w_deg / 2 / k, cx + w_deg / 2 / k)
    ax.set_ylim(cy - w_deg / 3.2, cy + w_deg / 3.2)
    ax.set_aspect(1 / k)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    fig.colorbar(ScalarMappable(norm=Normalize(0, vmax), cmap="viridis"), ax=ax, label="km/h")
    ax.set_title("Route (colour = speed, squares = stops)")
    out = io.BytesIO()
    fig.savefig(out, format="png", bbox_inches="tight")
    return out.getvalue()


def _table(pdf: FPDF, title: str, df: pd.DataFrame, columns: list[str], max_rows: int) -> None:
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    if df.empty:
        pdf.set_font("DejaVu", "", 8)
        pdf.cell(0, 6, "none in this period", new_x="LMARGIN", new_y="NEXT")
        return
    pdf.set_font("DejaVu", "", 7)
    shown = df[columns].head(max_rows)
    with pdf.table(first_row_as_headings=True, line_height=4.5) as table:
        table.row([c.replace("_", " ") for c in columns])
        for row in shown.itertuples(index=False):
            table.row(["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in row])
    if len(df) > max_rows:
        pdf.cell(0, 5, f"... {len(df) - max_rows} more rows in the CSV / XLSX export", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def pdf_bytes(report: Report, max_rows: int = 200) -> bytes:
    """Title and period, the route map, the summary tables, then trips and stops."""
    pdf = FPDF(orientation="L", format="A4")
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(FONT_BOLD))
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 10, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(0, 6, report.period(), new_x="LMARGIN", new_y="NEXT")
    png = route_png(report)
    if png is not None:
        pdf.image(io.BytesIO(png), w=200)
    else:
        pdf.cell(0, 6, "No positions in this period.", new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    for name, columns in PDF_TABLES.items():
        _table(pdf, SHEET_TITLES[name], report.tables[name], columns, max_rows)
    pdf.set_font("DejaVu", "", 6)
    pdf.cell(0, 5, "Places: GeoNames (geonames.org, CC BY 4.0)", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def write_files(report: Report, out_dir: Path, formats: tuple[str, ...] = ("csv", "xlsx", "pdf"), stem: str = "fleet-report") -> list[Path]:
    """Write the chosen formats into ``out_dir``; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if "csv" in formats:
        for name, data in csv_files(report).items():
            (out_dir / f"{stem}-{name}").write_bytes(data)
            written.append(out_dir / f"{stem}-{name}")
    if "xlsx" in formats:
        (out_dir / f"{stem}.xlsx").write_bytes(xlsx_bytes(report))
        written.append(out_dir / f"{stem}.xlsx")
    if "pdf" in formats:
        (out_dir / f"{stem}.pdf").write_bytes(pdf_bytes(report))
        written.append(out_dir / f"{stem}.pdf")
    return written


def gpx_bytes(vehicle_id: str, samples: Sequence[Sample], stops: Sequence[Stop] = ()) -> bytes:
    """A GPX 1.1 track of the fixes (time, position; the speed as a GPX 1.0-style ``speed`` in m/s
    is not part of 1.1, so it stays out) and a waypoint per stop named by its place (gpxpy)."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "ticktrack"
    track = gpxpy.gpx.GPXTrack(name=vehicle_id)
    segment = gpxpy.gpx.GPXTrackSegment()
    for s in samples:
        segment.points.append(gpxpy.gpx.GPXTrackPoint(s.lat, s.lon, time=datetime.fromtimestamp(s.ts_ms / 1000, tz=UTC)))
    track.segments.append(segment)
    gpx.tracks.append(track)
    for stop in stops:
        gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(stop.lat, stop.lon, time=datetime.fromtimestamp(stop.start_ts / 1000, tz=UTC),
                                                   name=stop.place or "stop",
                                                   description=f"stop {stop.duration_s / 60:.1f} min"))
    return gpx.to_xml(version="1.1").encode("utf-8")
