"""Reports take the stops the analytics flow stored, and compute from the fixes only those that overlap none of them."""

from __future__ import annotations

from contracts.stop import Stop
from jobs.fleet_report_build import VehicleRecords, report_stops
from rules.fleet.config import FleetSettings
from rules.fleet.stops import Sample

T0 = 1_764_000_000_000
CFG = FleetSettings()


def samples() -> list[Sample]:
    """Two 10-minute stops (0-600 s and 1200-1800 s), moving in between and after."""
    speeds = [0.0] * 10 + [30.0] * 10 + [0.0] * 10 + [30.0] * 5
    return [Sample(T0 + i * 60_000, 52.5, 13.4, v, True) for i, v in enumerate(speeds)]


def test_no_stored_stop_means_all_computed():
    got = report_stops(VehicleRecords("v1", samples=samples()), CFG)
    assert [(s.start_ts - T0, s.end_ts - T0) for s in got] == [(0, 600_000), (1_200_000, 1_800_000)]


def test_stored_stops_win_and_computed_ones_fill_the_rest():
    stored = Stop("v1", T0 + 1_200_000, T0 + 1_800_000, 52.5, 13.4, 600.0, False, place="Stored, BE, DE", fleet_id="f1")
    got = report_stops(VehicleRecords("v1", samples=samples(), stops=[stored]), CFG)
    assert [(s.start_ts - T0, s.place) for s in got] == [(0, None), (1_200_000, "Stored, BE, DE")]
    assert got[1] is stored
    first = Stop("v1", T0, T0 + 600_000, 52.5, 13.4, 0.0, False, place="First, BE, DE")
    got = report_stops(VehicleRecords("v1", samples=samples(), stops=[first]), CFG)  # the second not stored (yet)
    assert [(s.start_ts - T0, s.place) for s in got] == [(0, "First, BE, DE"), (1_200_000, None)]
