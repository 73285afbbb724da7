"""The labelled scenario suite: precision and recall 1.0 per rule family, delays documented."""

from __future__ import annotations

import functools

import pytest

from contracts.alert import Alert
from rules.fleet.config import FleetSettings

from . import catalogue, score
from .__main__ import DOC, render_doc
from .physics import Drive


@functools.cache
def results() -> tuple[tuple[Drive, list[Alert]], ...]:
    drives = catalogue.drives()
    reg = catalogue.registry(drives)
    return tuple((d, score.run(d, reg, FleetSettings())) for d in drives)


@pytest.mark.parametrize("family", list(score.FAMILIES))
def test_precision_and_recall_are_one_per_family(family: str) -> None:
    s = score.score(results())[family]
    assert s.truths > 0 and s.misses == [] and s.false == []
    assert (s.precision, s.recall) == (1.0, 1.0)


def test_the_issues_cases() -> None:
    by_vehicle = {d.vehicle_id: (d, alerts) for d, alerts in results()}
    for seed in catalogue.SEEDS:
        _, hover = by_vehicle[f"hover-{seed}"]
        assert [(a.type, a.state) for a in hover if a.type in score.FAMILY_OF] == [("battery_low", "raised")]
        for parked_id in (f"parked-on-{seed}", f"parked-off-{seed}", f"corner-{seed}"):
            _, parked = by_vehicle[parked_id]
            assert [a for a in parked if a.type in score.FAMILIES["geofences"]] == []
        _, leak = by_vehicle[f"leak-{seed}"]
        assert sorted(a.details["key"] for a in leak if a.type == "tire_pressure_low" and a.state == "raised") == ["tire_fr", "tire_rl"]
        for jitter in (0, 4000):
            d, school = by_vehicle[f"school-{seed}-{jitter}"]
            (over,) = [a for a in school if a.type == "overspeed"]
            assert over.ts - d.truths[0].onset_ts <= FleetSettings().overspeed_min_duration_s * 1000 + 1000  # fix resolution


def test_the_table_in_docs_alerts_is_current() -> None:
    assert render_doc(DOC.read_text(), score.table(results())) == DOC.read_text(), \
        "docs/alerts.md scenario table is out of date: run python -m tests.unit.fleet.scenarios"


def test_idle_incidents_clear_when_the_vehicle_drives_off_or_the_engine_stops() -> None:
    by_vehicle = {d.vehicle_id: alerts for d, alerts in results()}
    for seed in catalogue.SEEDS:
        for how, reason in (("drive", "moving"), ("off", "engine_off")):
            idle = [a for a in by_vehicle[f"kerb-{how}-{seed}"] if a.type == "idle"]
            assert [a.state for a in idle] == ["raised", "cleared"], idle
            assert idle[1].incident_id == idle[0].alert_id and idle[1].details["reason"] == reason
            assert idle[1].details["end_ts"] - idle[1].details["start_ts"] == 600_000  # the 10 min it stood, to the fix


def test_an_intermittently_reported_code_is_one_incident_cleared_after_the_repair() -> None:
    by_vehicle = {d.vehicle_id: (d, alerts) for d, alerts in results()}
    clear_ms = FleetSettings().dtc_clear_s * 1000
    for seed in catalogue.SEEDS:
        d, alerts = by_vehicle[f"dtc-{seed}"]
        dtc = [a for a in alerts if a.type == "dtc"]
        assert [a.state for a in dtc] == ["raised", "cleared"], dtc
        last_report = max(f.ts_ms for f, _ in d.messages if "P0301" in f.dtc)
        first_missing = min(f.ts_ms for f, _ in d.messages if f.ts_ms > last_report)
        assert first_missing + clear_ms <= dtc[1].ts <= first_missing + clear_ms + 10_000  # the first fix past the hold-off
        assert dtc[1].details["end_ts"] == first_missing
        assert dtc[1].incident_id == dtc[0].alert_id and dtc[1].details["reason"] == "gone"
