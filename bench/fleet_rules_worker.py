"""Worker of bench/fleet_rules.py: drive one source tree's fleet engine over a prepared workload.

    PYTHONPATH=<tree> python bench/fleet_rules_worker.py <workload dir> <out.json> [--profile N]

Run as a script with the tree under test on PYTHONPATH, so ``rules``, ``contracts`` and
``settings`` are that tree's (a git worktree of the baseline, or this one). It imports nothing
from ``bench``: this directory is on sys.path only for this file. The workload (written by
fleet_rules.py) is the registry files and, in arrival order, ``[kind, vehicle_id, time, topic,
payload]`` events: ``fix`` = ``engine.on_fix`` at its arrival time, ``tick`` = ``engine.on_tick``
of every vehicle seen so far (the flow's per-vehicle timer). Parsing is outside the clock: each
fix is parsed just before its call, and each output is turned into strings right after it, so
the process holds no more live objects than the flow does (a heap of kept outputs would make
the garbage collector's passes, and the figure, longer). Writes every output record of the run
(alerts as their JSON, the rest as JSON or repr) and the process CPU inside ``on_fix`` and
``on_tick``.
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    work, out_path = Path(argv[0]), Path(argv[1])
    profile_top = int(argv[argv.index("--profile") + 1]) if "--profile" in argv else 0

    from contracts.telemetry import parse_telemetry
    from rules.fleet import engine
    from rules.fleet.config import FleetSettings
    from settings.registry_files import load_registry

    reg = load_registry(work / "vehicles.json", work / "geofences.geojson")
    cfg = FleetSettings()
    events = json.loads((work / "events.json").read_text())
    records: dict[str, list[str]] = {k: [] for k in ("alerts", "trips", "stops", "days", "health", "errors", "link", "fixes")}

    def take(out: Any) -> None:
        records["alerts"].extend(a.to_json() for a in out.alerts)
        records["trips"].extend(json.dumps(t.to_dict(), sort_keys=True) for t in out.trips)
        for key in ("stops", "days", "health", "errors", "link", "fixes"):
            records[key].extend(repr(x) for x in getattr(out, key, ()))

    states: dict[str, Any] = {}
    fix_cpu = tick_cpu = 0.0
    fixes = ticks = 0
    clock = time.process_time
    prof = cProfile.Profile() if profile_top else None
    if prof:
        prof.enable()
    for kind, _vid, at, topic, payload in events:
        if kind == "fix":
            fix = parse_telemetry(topic, payload.encode(), at)
            st = states.get(fix.vehicle_id)
            if st is None:
                st = engine.VehicleState()
            t0 = clock()
            st, out = engine.on_fix(st, fix, at, reg, cfg)
            fix_cpu += clock() - t0
            states[fix.vehicle_id] = st
            fixes += 1
            take(out)
        else:
            for vid in list(states):
                t0 = clock()
                states[vid], out = engine.on_tick(states[vid], vid, at, reg, cfg)
                tick_cpu += clock() - t0
                ticks += 1
                take(out)
    if prof:
        prof.disable()

    result: dict[str, Any] = {
        "fixes": fixes, "ticks": ticks, "on_fix_cpu_s": fix_cpu, "on_tick_cpu_s": tick_cpu,
        "counts": {k: len(v) for k, v in records.items()},
        "digests": {k: hashlib.sha256("\n".join(v).encode()).hexdigest() for k, v in records.items()},
        "alerts": records["alerts"],
    }
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(profile_top)
        result["profile"] = buf.getvalue()
    out_path.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
