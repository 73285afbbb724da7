"""Publish simulated vehicle telemetry over MQTT (QoS 1), in real time or as fast as possible.

    python -m simulators.publish_vehicles --vehicles 20 --interval 1 --duration 600
    python -m simulators.publish_vehicles --scenario overspeed,harsh_braking   # scripted alerts
    python -m simulators.publish_vehicles --list-scenarios
    python -m simulators.publish_vehicles --scenario demo --speedup 0 --ends-ago 86400   # yesterday, at once

Progress goes to the log every few seconds; settings come from the environment and
var/stack.env (MQTT_URL). ``--help`` lists every option.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import structlog

from settings.errors import run_main
from settings.logs import configure_logging
from simulators import scenario_cli
from simulators.mqtt_publisher import mqtt_publisher
from simulators.vehicles import fleet, fleet_of_ids

log = structlog.get_logger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m simulators.publish_vehicles", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vehicles", type=int, default=20, help="number of vehicles [20]")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds of simulated time between fixes [1.0]")
    ap.add_argument("--duration", type=float, default=0, help="seconds of simulated time to run, 0 = forever [0]")
    ap.add_argument("--speedup", type=float, default=1.0, help="simulated seconds per wall second; 0 = as fast as possible [1]")
    ap.add_argument("--seed", type=int, default=1, help="random seed; same seed, same drives [1]")
    ap.add_argument("--prefix", default="veh", help="vehicle id prefix [veh]")
    ap.add_argument("--registry", default=None,
                    help="drive every vehicle of this registry file (e.g. config/vehicles.json) instead of --vehicles/--prefix")
    ap.add_argument("--client-id", default="ticktrack-sim", help="MQTT client id [ticktrack-sim]")
    ap.add_argument("--scenario", default=None, metavar="NAME[,NAME]",
                    help="publish scripted scenarios instead of random drives: names, 'all', 'demo' (what make demo drives), "
                         "NAME@VEHICLE to pick the vehicle")
    ap.add_argument("--list-scenarios", action="store_true", help="list the scenarios and the alerts each must raise, then exit")
    ap.add_argument("--geofences", default="config/geofences.geojson", help="geofences of the scenarios [config/geofences.geojson]")
    ap.add_argument("--ends-ago", type=float, default=0.0, metavar="SECONDS",
                    help="scenarios: lay the plan out to end this long before now - history for a backfill, e.g. 86400 "
                         "with --speedup 0 publishes yesterday's drives at once [0]")
    ap.add_argument("--vehicle-prefix", default="", help="prepended to the scenarios' default vehicle ids (a test registry) ['']")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list_scenarios:
        print(scenario_cli.listing())
        return 0
    configure_logging()
    if args.scenario:
        return scenario_cli.publish(args)
    if args.registry:
        ids = [v["id"] for v in json.loads(Path(args.registry).read_text())["vehicles"]]
        sims = fleet_of_ids(ids, args.seed)
    else:
        sims = fleet(args.vehicles, args.seed, args.prefix)
    sim_ms = int(time.time() * 1000)
    started, sent, last_report = time.monotonic(), 0, time.monotonic()
    with mqtt_publisher(args.client_id) as client:
        while args.duration <= 0 or (sent / max(1, len(sims))) * args.interval < args.duration:
            sim_ms += int(args.interval * 1000)
            infos = [client.publish(f"fleet/{s.vehicle_id}/telemetry", json.dumps(s.step(args.interval, sim_ms)), qos=1)
                     for s in sims]
            sent += len(infos)
            if args.speedup > 0:
                time.sleep(max(0.0, args.interval / args.speedup - 0.001))
            if time.monotonic() - last_report > 5:
                last_report = time.monotonic()
                log.info("published", messages=sent, rate_per_s=round(sent / (last_report - started), 1))
        for info in infos:
            info.wait_for_publish(timeout=30)
    log.info("done", messages=sent, seconds=round(time.monotonic() - started, 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
