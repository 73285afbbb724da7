"""Run the labelled drives through the engine in-process and score its incidents against the truth.

An incident is an alert record with ``state == "raised"`` (escalations and clears belong to
their incident). Per rule family: an incident is a true positive when it matches a truth of its
type and key (wheel, zone) not matched before, raised no earlier than the family's lead before
the truth's onset and no later than its end (plus the family's grace); every other incident is a
false positive - a second incident for one truth is flapping. Precision = TP / incidents,
recall = truths matched / truths, delay = raise time - onset (event time).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from contracts import alert as A
from contracts.alert import Alert
from rules.fleet import engine as E
from rules.fleet.config import FleetSettings
from rules.fleet.registry import Registry

from .physics import Drive, Truth

FAMILIES: dict[str, tuple[str, ...]] = {
    "ranges": (A.COOLANT_HIGH, A.BATTERY_LOW, A.CHARGING_FAULT, A.TIRE_PRESSURE_LOW, A.TIRE_PRESSURE_HIGH, A.OIL_LIFE_LOW, A.RPM_HIGH),
    "geofences": (A.GEOFENCE_ENTER, A.GEOFENCE_EXIT, A.GEOFENCE_INSIDE_FORBIDDEN, A.GEOFENCE_OUTSIDE_ALLOWED),
    "overspeed": (A.OVERSPEED,),
    "harsh": (A.HARSH_BRAKING, A.HARSH_ACCELERATION, A.HARSH_CORNERING),
    "idle": (A.IDLE,),
    "dtc": (A.DTC,),
}
FAMILY_OF = {t: f for f, types in FAMILIES.items() for t in types}
# How early an incident may be raised and still be the truth's: a slowly drifting value's noise
# reaches the limit before its noise-free value does; positions and speeds are sampled at 1 Hz.
LEAD_MS = {"ranges": 3_600_000, "geofences": 1_000, "overspeed": 1_000, "harsh": 1_000, "idle": 1_000, "dtc": 1_000}
GRACE_MS = {"ranges": 0, "geofences": 30_000, "overspeed": 15_000, "harsh": 5_000, "idle": 0, "dtc": 0}  # after a truth's end


def run(drive: Drive, reg: Registry, cfg: FleetSettings, tick_ms: int = 1000) -> list[Alert]:
    """Every alert the engine raised for the drive: fixes at their arrival, the timer every second
    (while fixes come; a quiet stretch longer than 15 s jumps to the next arrival), then 60 s more."""
    state, alerts = E.VehicleState(), []
    vid = drive.vehicle_id
    now = drive.messages[0][1]
    for fix, arrival in drive.messages:
        if arrival - now > 15_000:
            now = arrival - 15_000
        while now <= arrival:
            state, out = E.on_tick(state, vid, now, reg, cfg)
            alerts += out.alerts
            now += tick_ms
        state, out = E.on_fix(state, fix, arrival, reg, cfg)
        alerts += out.alerts
    for _ in range(60):
        state, out = E.on_tick(state, vid, now, reg, cfg)
        alerts += out.alerts
        now += tick_ms
    return [a for a in alerts if a.type != A.DEVICE_OFFLINE or a.ts <= drive.messages[-1][1]]


def _key(a: Alert) -> str | None:
    if a.type in FAMILIES["ranges"]:
        return str(a.details.get("key"))
    return a.geofence_id if a.type in FAMILIES["geofences"] else None


@dataclass
class Score:
    family: str
    drives: set[str] = field(default_factory=set)
    truths: int = 0
    incidents: int = 0
    tp: int = 0
    delays_s: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / self.incidents if self.incidents else 1.0

    @property
    def recall(self) -> float:
        return (self.truths - len(self.misses)) / self.truths if self.truths else 1.0


def score(results: Sequence[tuple[Drive, list[Alert]]]) -> dict[str, Score]:
    """Per family, over all drives."""
    scores = {f: Score(f) for f in FAMILIES}
    for drive, alerts in results:
        incidents = sorted((a for a in alerts if a.type in FAMILY_OF and a.state == "raised"), key=lambda a: a.ts)
        open_truths: list[Truth] = list(drive.truths)
        for t in drive.truths:
            scores[FAMILY_OF[t.type]].truths += 1
            scores[FAMILY_OF[t.type]].drives.add(drive.name)
        for a in incidents:
            fam = FAMILY_OF[a.type]
            s = scores[fam]
            s.drives.add(drive.name)
            s.incidents += 1
            match = next((t for t in open_truths if t.type == a.type and t.key == _key(a) and t.onset_ts - LEAD_MS[fam] <= a.ts
                          and (t.end_ts is None or a.ts <= t.end_ts + GRACE_MS[fam])), None)
            if match is None:
                s.false.append(f"{drive.vehicle_id}: {a.type} {_key(a) or ''} at +{(a.ts - drive.messages[0][0].ts_ms) / 1000:.0f} s")
                continue
            open_truths.remove(match)
            s.tp += 1
            s.delays_s.append((a.ts - match.onset_ts) / 1000)
        for t in open_truths:
            scores[FAMILY_OF[t.type]].misses.append(f"{drive.vehicle_id}: {t.type} {t.key or ''}")
    for fam in FAMILIES:
        scores[fam].drives |= {d.name for d, _ in results if any(FAMILY_OF.get(t.type) == fam for t in d.truths)}
    return scores


def negatives(results: Sequence[tuple[Drive, list[Alert]]]) -> dict[str, list[str]]:
    """Drives without truth of a family that are about it (their names say so) - for the table."""
    return {d.name: [] for d, _ in results if not d.truths}


def table(results: Sequence[tuple[Drive, list[Alert]]]) -> str:
    """The Markdown tables for docs/alerts.md: per family, then per drive."""
    scores = score(results)
    lines = ["| family | truths | incidents | true pos. | precision | recall | delay from onset, s (min / median / max) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for fam, s in scores.items():
        d = s.delays_s
        delay = f"{min(d):.0f} / {statistics.median(d):.0f} / {max(d):.0f}" if d else "-"
        lines.append(f"| {fam} | {s.truths} | {s.incidents} | {s.tp} | {s.precision:.2f} | {s.recall:.2f} | {delay} |")
    lines += ["", "| drive | conditions | truths per seed | incidents (all seeds) | delays, s |", "| --- | --- | --- | ---: | --- |"]
    by_name: dict[str, list[tuple[Drive, list[Alert]]]] = {}
    for d, alerts in results:
        by_name.setdefault(d.name, []).append((d, alerts))
    for name, runs in by_name.items():
        first = runs[0][0]
        kinds = ", ".join(sorted({t.type + (f" {t.key}" if t.key else "") for t in first.truths})) or "none"
        raised = [(d, a) for d, alerts in runs for a in alerts if a.type in FAMILY_OF and a.state == "raised"]
        delays = []
        for d, a in raised:
            t = next((t for t in d.truths if t.type == a.type and t.key == _key(a)), None)
            if t is not None:
                delays.append((a.ts - t.onset_ts) / 1000)
        shown = ", ".join(f"{x:.0f}" for x in sorted(delays)) if delays else "-"
        lines.append(f"| {name} | {first.conditions} | {kinds} | {len(raised)} | {shown} |")
    return "\n".join(lines)
