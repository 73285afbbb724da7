"""``publish_vehicles --scenario`` / ``--list-scenarios``: publish a scenario plan over MQTT.

Messages go out at their planned offsets divided by ``--speedup`` (0 = as fast as possible).
Event times end near now: at speed-up 1 they run with the wall clock; faster, the plan is moved
into the past so no fix is stamped in the future (the flow flags fixes more than 5 min ahead).
``device_offline`` needs the silence to be real, so it only fires at speed-up 1. ``--ends-ago``
moves the whole plan that much further into the past: ``make demo`` backfills the last days that way,
through the real pipeline, so trips, day scores and reports have history from the first minute.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time

import structlog

from rules.fleet.config import FleetSettings
from settings.registry_files import load_registry
from settings.rules_env import load_fleet_settings
from simulators.mqtt_publisher import mqtt_publisher
from simulators.scenario_plan import Plan, parse_selection, plan
from simulators.scenarios import SCENARIOS

log = structlog.get_logger(__name__)


def listing() -> str:
    """Every scenario: name, default vehicle (and zone), the alerts and trips it must produce."""
    lines = []
    for sc in SCENARIOS.values():
        alerts = ", ".join(f"{n} x {t}" for t, n in sc.expected.items()) or "no alert"
        extra = f"; {sc.trips} trip" if sc.trips else ""
        zone = f" in {sc.geofence}" if sc.geofence else ""
        lines.append(f"{sc.name:28} {sc.vehicle}{zone}: {alerts}{extra}")
        lines.append("    " + " ".join(inspect.cleandoc(sc.summary).split()))
    return "\n".join(lines)


def build_plan(args: argparse.Namespace, now_ms: int, cfg: FleetSettings) -> Plan:
    """The plan of ``args.scenario``, its event times ending no later than ``args.ends_ago`` s before ``now_ms``."""
    registry = load_registry(args.registry or "config/vehicles.json", args.geofences or None)
    selection = parse_selection(args.scenario)
    if args.ends_ago < 0:
        raise ValueError(f"--ends-ago must be >= 0 seconds, got {args.ends_ago}")
    end_ms = now_ms - int(args.ends_ago * 1000)
    first = plan(selection, registry, end_ms, cfg, args.vehicle_prefix)
    behind = first.span_ms if args.speedup <= 0 else max(0.0, first.span_ms * (1 - 1 / args.speedup))
    return plan(selection, registry, end_ms - int(behind), cfg, args.vehicle_prefix) if behind else first


def publish(args: argparse.Namespace) -> int:
    cfg = load_fleet_settings()
    the_plan = build_plan(args, int(time.time() * 1000), cfg)
    for r in the_plan.runs:
        log.info("scenario", name=r.scenario.name, vehicle=r.vehicle_id, messages=len(r.messages),
                 expected=dict(r.scenario.expected), trips=r.scenario.trips)
    started = time.monotonic()
    infos = []
    with mqtt_publisher(args.client_id) as client:
        for i, p in enumerate(the_plan.schedule):
            if args.speedup > 0:
                time.sleep(max(0.0, started + p.offset_ms / 1000 / args.speedup - time.monotonic()))
            m = p.message
            infos.append(client.publish(m.topic, json.dumps(m.payload), qos=1))
            if i % 200 == 0:
                log.info("published", messages=i + 1, of=len(the_plan.schedule))
        for info in infos:
            info.wait_for_publish(timeout=30)
    log.info("done", messages=len(infos), seconds=round(time.monotonic() - started, 1))
    return 0
