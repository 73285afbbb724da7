"""Run published messages through the pure fleet engine: what the analytics flow must output.

The dataflow is wiring around ``rules.fleet.engine``; this replays the same steps without
Kafka or Bytewax - validate like the ingest (``parse_telemetry``), reject unknown and
deactivated vehicles like the analytics flow, ``on_fix`` per message at its arrival time and
``on_tick`` on a wall-clock timer - so tests can compare a real run with the exact alerts,
alert ids, trips, health reports and released fixes the engine computes for the same input.
Arrival times are a parameter: ``at_ms`` + latency (paced, as a live device) or one instant
for a burst.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from contracts import alert as A
from contracts.alert import Alert
from contracts.health import HealthReport
from contracts.telemetry import InvalidTelemetry, parse_telemetry
from contracts.trip import Trip
from rules.fleet import engine
from rules.fleet.config import FleetSettings
from rules.fleet.registry import Registry, Rejected
from simulators.scenario_device import Message


def _own_clear(a: Alert) -> bool:
    return a.state == "cleared" and a.type not in A.CLOSING_TYPES


@dataclass
class Replay:
    alerts: list[Alert] = field(default_factory=list)
    trips: list[Trip] = field(default_factory=list)
    fixes: list[engine.ProcessedFix] = field(default_factory=list)
    health: list[HealthReport] = field(default_factory=list)
    states: dict[str, engine.VehicleState] = field(default_factory=dict)
    rejected: list[tuple[Message, str]] = field(default_factory=list)  # (message, reason)

    def counts(self, vehicle_id: str | None = None) -> dict[str, int]:
        """Alert type -> count (of one vehicle, or all), without the records that clear an incident
        of their own type (a range incident's clear): those are counted by ``clears``."""
        return dict(Counter(a.type for a in self.alerts if vehicle_id in (None, a.vehicle_id) and not _own_clear(a)))

    def clears(self, vehicle_id: str | None = None) -> dict[str, int]:
        """Alert type -> count of the records that cleared an incident of their own type."""
        return dict(Counter(a.type for a in self.alerts if vehicle_id in (None, a.vehicle_id) and _own_clear(a)))

    def _take(self, out: engine.Output) -> None:
        self.alerts += out.alerts
        self.trips += out.trips
        self.fixes += out.fixes
        self.health += out.health


def replay(messages: Sequence[Message], registry: Registry, cfg: FleetSettings, arrivals: Sequence[int] | None = None,
           latency_ms: int = 200, tick_ms: int = 5000, tail_ms: int | None = None) -> Replay:
    """Feed ``messages`` (publish order) arriving at ``arrivals`` (default ``at_ms + latency_ms``),
    ticking every ``tick_ms`` until ``tail_ms`` after the last arrival (default: the longest
    reorder hold plus two ticks, so every waiting fix is released)."""
    arr = list(arrivals) if arrivals is not None else [m.at_ms + latency_ms for m in messages]
    if len(arr) != len(messages):
        raise ValueError("one arrival time per message")
    tail = tail_ms if tail_ms is not None else int(max(cfg.reorder_hold_max_s, cfg.reorder_hold_s) * 1000) + 2 * tick_ms
    result = Replay()
    if not messages:
        return result
    next_tick = arr[0] + tick_ms
    for msg, at in sorted(zip(messages, arr, strict=True), key=lambda p: p[1]):
        while next_tick <= at:
            _tick(result, next_tick, registry, cfg)
            next_tick += tick_ms
        _fix(result, msg, at, registry, cfg)
    end = arr[-1] + tail
    while next_tick <= end:
        _tick(result, next_tick, registry, cfg)
        next_tick += tick_ms
    return result


def _fix(result: Replay, msg: Message, arrival_ms: int, registry: Registry, cfg: FleetSettings) -> None:
    try:
        fix = parse_telemetry(msg.topic, json.dumps(msg.payload).encode(), arrival_ms)
    except InvalidTelemetry as exc:
        result.rejected.append((msg, exc.reason))
        return
    found = registry.lookup(fix.vehicle_id)
    if isinstance(found, Rejected):
        result.rejected.append((msg, f"{found.reason}: {fix.vehicle_id}"))
        return
    state = result.states.get(fix.vehicle_id, engine.VehicleState())
    result.states[fix.vehicle_id], out = engine.on_fix(state, fix, arrival_ms, registry, cfg)
    result._take(out)


def _tick(result: Replay, now_ms: int, registry: Registry, cfg: FleetSettings) -> None:
    for vid in list(result.states):
        result.states[vid], out = engine.on_tick(result.states[vid], vid, now_ms, registry, cfg)
        result._take(out)
