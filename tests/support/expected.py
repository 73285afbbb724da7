"""What the pure rules say about a stream: the reference a fault test compares the flows with."""

from __future__ import annotations

from contracts.telemetry import Telemetry
from rules.fleet import engine
from rules.fleet.config import FleetSettings
from rules.fleet.places import alert_with_place
from settings.geodata import place_index
from settings.registry_files import load_registry

WALL_CLOCK_TYPES = ("device_offline", "device_online")


def expected_alerts(fixes: list[Telemetry], vehicles_file: str, cfg: FleetSettings) -> dict[str, str]:
    """alert id -> alert JSON of every alert the engine gives for ``fixes`` in order (arrival =
    event time), including what a later tick releases; wall-clock (offline) alerts left out. Each
    carries its place, as the analytics flow's output step adds it."""
    reg = load_registry(vehicles_file)
    states: dict[str, engine.VehicleState] = {}
    alerts: dict[str, str] = {}
    for f in fixes:
        st, out = engine.on_fix(states.get(f.vehicle_id, engine.VehicleState()), f, f.ts_ms, reg, cfg)
        states[f.vehicle_id] = st
        alerts.update({a.alert_id: alert_with_place(a, place_index()).to_json() for a in out.alerts if a.type not in WALL_CLOCK_TYPES})
    for vid, st in states.items():  # what a later tick releases
        _, out = engine.on_tick(st, vid, fixes[-1].ts_ms + 120_000, reg, cfg)
        alerts.update({a.alert_id: alert_with_place(a, place_index()).to_json() for a in out.alerts if a.type not in WALL_CLOCK_TYPES})
    return alerts
