"""Lay scenarios out on vehicles and in time: the stream a demo or a test publishes.

A selection such as ``overspeed,idle@van-02`` names scenarios and, optionally, the vehicle of
each (default: the scenario's vehicle, with ``vehicle_prefix`` prepended - tests use their own
registry with unique ids). Scenarios on different vehicles run side by side; on one vehicle
they follow each other with ``gap_s`` of silence (longer than every rule's gap limit, shorter
than the offline timeout), so no scenario's state leaks into the next. A scenario whose zone
has a schedule is moved back in time to when it is active and runs first on its vehicle; when it
lies wholly in the past it is published at once (offset of the vehicle's start), so the next
scenario of that vehicle is live from the first minute.
Everything here is pure: same registry, selection and start, same messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rules.fleet.config import FleetSettings
from rules.fleet.registry import Registry
from simulators.scenario_device import Message
from simulators.scenario_places import align_to_schedule, home_of
from simulators.scenarios import SCENARIOS, Scenario, ScenarioContext, ScenarioError

DEFAULT_GAP_S = 300.0

# What ``make demo`` drives, round after round (``--scenario demo``): every scenario, with each van
# starting its round on a trip (its health scenarios are parked), so that every active vehicle is on
# the road in the first minute; the family car's school-zone run is back-dated, its trip keeps it live.
DEMO_SELECTION = "trip@van-01,trip@van-02,trip@van-03,trip@van-04,all,trip@family-car"


@dataclass(frozen=True)
class Run:
    """One scenario on one vehicle, with its messages in publish order."""

    scenario: Scenario
    vehicle_id: str
    start_ms: int
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class Planned:
    """A message and when to publish it, in ms after the plan starts."""

    offset_ms: int
    message: Message


@dataclass(frozen=True)
class Plan:
    runs: tuple[Run, ...]
    schedule: tuple[Planned, ...]  # every message, in publish order

    @property
    def messages(self) -> list[Message]:
        return [p.message for p in self.schedule]

    @property
    def span_ms(self) -> int:
        return self.schedule[-1].offset_ms if self.schedule else 0

    def expected(self) -> dict[str, dict[str, int]]:
        """vehicle id -> alert type -> count, summed over the runs."""
        out: dict[str, dict[str, int]] = {}
        for r in self.runs:
            counts = out.setdefault(r.vehicle_id, {})
            for t, n in r.scenario.expected.items():
                counts[t] = counts.get(t, 0) + n
        return out


def parse_selection(text: str) -> list[tuple[str, str | None]]:
    """``"overspeed,idle@van-02"`` -> [("overspeed", None), ("idle", "van-02")]; ``all`` = every scenario,
    ``demo`` = DEMO_SELECTION."""
    out: list[tuple[str, str | None]] = []
    for item in (p.strip() for p in text.split(",")):
        if item == "demo":
            out += parse_selection(DEMO_SELECTION)
            continue
        if not item:
            continue
        name, _, vehicle = item.partition("@")
        if name == "all":
            out += [(n, None) for n in SCENARIOS]
            continue
        if name not in SCENARIOS:
            raise ScenarioError(f"unknown scenario {name!r}; --list-scenarios shows them")
        out.append((name, vehicle or None))
    if not out:
        raise ScenarioError("no scenario selected")
    return out


def context(scenario: Scenario, vehicle_id: str, registry: Registry, start_ms: int, cfg: FleetSettings) -> ScenarioContext:
    """Home, limit and zone of ``vehicle_id`` in ``registry``; raises ScenarioError when it cannot run."""
    v = registry.vehicles.get(vehicle_id)
    if v is None:
        raise ScenarioError(f"scenario {scenario.name}: vehicle {vehicle_id!r} is not in the registry")
    if not v.active:
        raise ScenarioError(f"scenario {scenario.name}: vehicle {vehicle_id!r} is deactivated (its telemetry is dead-lettered)")
    fences = registry.fences_of(v)
    fleet = registry.fleet_of(v)
    limit = v.speed_limit_kmh or (fleet.speed_limit_kmh if fleet else None) or cfg.default_speed_limit_kmh
    fence = None
    if scenario.geofence is not None:
        fence = fences.get(scenario.geofence)
        if fence is None:
            raise ScenarioError(f"scenario {scenario.name}: geofence {scenario.geofence!r} missing or not applying to {vehicle_id}")
    return ScenarioContext(vehicle_id, start_ms, home_of(fences), limit, fence, cfg)


def plan(selection: Iterable[tuple[str, str | None]], registry: Registry, start_ms: int, cfg: FleetSettings | None = None,
         vehicle_prefix: str = "", gap_s: float = DEFAULT_GAP_S) -> Plan:
    """Build every selected scenario; see the module doc for how they are laid out."""
    cfg = cfg or FleetSettings()
    by_vehicle: dict[str, list[Scenario]] = {}
    for name, vehicle in selection:
        sc = SCENARIOS[name]
        by_vehicle.setdefault(vehicle or vehicle_prefix + sc.vehicle, []).append(sc)
    runs: list[Run] = []
    planned: list[tuple[int, str, int, Message]] = []
    for vid, scenarios in by_vehicle.items():
        def scheduled(sc: Scenario) -> bool:
            return sc.geofence is not None and _has_schedule(registry, sc.geofence)

        ordered = [s for s in scenarios if scheduled(s)] + [s for s in scenarios if not scheduled(s)]
        cursor, prev_end, base = start_ms, None, 0
        for sc in ordered:
            ctx = context(sc, vid, registry, cursor, cfg)
            msgs = sc.build(ctx)
            if ctx.fence is not None and ctx.fence.schedule is not None:
                span = max(m.at_ms for m in msgs) - cursor
                aligned = align_to_schedule(ctx.fence, cursor, span)
                if prev_end is not None and aligned < prev_end + gap_s * 1000:
                    raise ScenarioError(f"{vid}: only one scheduled-zone scenario per vehicle fits before the others")
                msgs = [m.shifted(aligned - cursor) for m in msgs]
                ctx_start = aligned
            else:
                ctx_start = cursor
            runs.append(Run(sc, vid, ctx_start, tuple(msgs)))
            prev_end = max(m.at_ms for m in msgs)
            if prev_end + gap_s * 1000 <= cursor:
                # moved wholly into the past (a zone's schedule): publish it at once, so the vehicle's
                # next scenario runs live from the start instead of after this one's duration
                planned += [(base, vid, i, m) for i, m in enumerate(msgs, start=len(planned))]
                continue
            planned += [(base + m.at_ms - ctx_start, vid, i, m) for i, m in enumerate(msgs, start=len(planned))]
            base += prev_end - ctx_start + int(gap_s * 1000)
            cursor = max(cursor, prev_end + int(gap_s * 1000))
    planned.sort(key=lambda p: (p[0], p[1], p[2]))
    return Plan(tuple(runs), tuple(Planned(off, m) for off, _, _, m in planned))


def _has_schedule(registry: Registry, fence_id: str) -> bool:
    f = registry.geofences.get(fence_id)
    return f is not None and f.schedule is not None

