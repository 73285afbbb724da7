"""The fleet rule engine alone: CPU per fix of ``engine.on_fix``, baseline tree against this one,
and the proof that both give exactly the same output.

    .venv/bin/python -m bench.fleet_rules --baseline /tmp/engine-base [--runs 3] [--vehicles 50] [--seconds 600]
    .venv/bin/python -m bench.fleet_rules --profile 30           # cProfile of the candidate only
    ... --candidate /tmp/engine-cand                               # a tree other than this one (default: this one)

Why: the engine is the biggest CPU cost per fix of the analytics flow (issue 11), and a faster
engine is only acceptable if not one alert changes. The workload is a long, mixed, demo-like
drive, built once here and written as JSON: every scripted scenario (simulators/scenarios.py,
laid out by scenario_plan as the demo publishes them) on ``--copies`` copies of the default
vehicles, plus ``--vehicles`` simulated vehicles (simulators/vehicles.py, the end-to-end
publisher's drive) driving for ``--seconds`` around Berlin through the default geofences, in
fleets with and without limits, with a link that is not clean: ~1% duplicates, ~0.5% fixes
3 s late (out of order), and now and then 40 s of silence (a fix after a gap waits the hold).
Every ``--tick-s`` of arrival time every vehicle gets ``on_tick``, as the flow's timer does.

Each tree runs in its own process (``bench/fleet_rules_worker.py`` with the tree on
PYTHONPATH), baseline and candidate interleaved ``--runs`` times. Measured: process CPU time
inside ``on_fix`` (and ``on_tick``) per call, parsing excluded. Compared: every alert, as its
JSON, in order, and digests of the trips, daily scores, health reports, rule errors, link
stats and released fixes; the bench exits 1 when any of them differs between any two runs.
JSON in var/bench/fleet_rules-<time>.json. Numbers, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import REPO, write_result
from rules.fleet.config import FleetSettings
from settings.registry_files import load_registry
from simulators.scenario_plan import parse_selection, plan
from simulators.vehicles import fleet

# Wednesday 2026-11-25 22:00 Berlin, as tests/unit/fleet/test_scenarios.py: the depot's night
# window is on, the school window off (the family car's scenario moves itself to a school day).
T0 = int(datetime(2026, 11, 25, 21, 0, tzinfo=UTC).timestamp() * 1000)
WORKER = Path(__file__).with_name("fleet_rules_worker.py")
FLEETS = ("logistics", "taxi", "family", None)


def write_workload(work: Path, copies: int, vehicles: int, seconds: int, tick_s: float, seed: int = 11) -> dict[str, int]:
    """Registry files and the arrival-ordered events (see the module doc) into ``work``."""
    reg_doc = json.loads((REPO / "config/vehicles.json").read_text())
    fences = json.loads((REPO / "config/geofences.geojson").read_text())
    base = reg_doc["vehicles"]
    reg_doc["vehicles"] = [{**v, "id": f"c{c}-{v['id']}"} for c in range(copies) for v in base]
    reg_doc["vehicles"] += [{"id": f"sim-{i:04d}", "name": f"sim {i}", **({"fleet_id": FLEETS[i % 4]} if FLEETS[i % 4] else {})}
                            for i in range(1, vehicles + 1)]
    for f in fences["features"]:  # zones for named vehicles apply to their copies
        if f["properties"].get("vehicles"):
            f["properties"]["vehicles"] = [f"c{c}-{v}" for c in range(copies) for v in f["properties"]["vehicles"]]
    (work / "vehicles.json").write_text(json.dumps(reg_doc))
    (work / "geofences.geojson").write_text(json.dumps(fences))
    reg = load_registry(work / "vehicles.json", work / "geofences.geojson")
    cfg = FleetSettings()
    events: list[tuple[int, int, list[Any]]] = []  # (arrival, order, event)
    for c in range(copies):
        p = plan(parse_selection("all"), reg, T0, cfg, vehicle_prefix=f"c{c}-")
        for pl in p.schedule:  # published as the demo does: at the plan's offset
            m = pl.message
            at = T0 + pl.offset_ms + 200
            events.append((at, len(events), ["fix", m.topic.split("/")[1], at, m.topic, json.dumps(m.payload)]))
    rng = random.Random(seed)
    silent_until: dict[str, int] = {}
    sims = fleet(vehicles, seed=seed, prefix="sim")
    for s in range(seconds):
        ts = T0 + s * 1000
        for v in sims:
            doc = json.dumps(v.step(1.0, ts))
            if ts < silent_until.get(v.vehicle_id, 0):
                continue
            if rng.random() < 0.002:
                silent_until[v.vehicle_id] = ts + 40_000
            at = ts + 20 + rng.randrange(300) + (3000 if rng.random() < 0.005 else 0)
            ev = ["fix", v.vehicle_id, at, f"fleet/{v.vehicle_id}/telemetry", doc]
            events.append((at, len(events), ev))
            if rng.random() < 0.01:
                events.append((at + 150, len(events), [*ev[:2], at + 150, *ev[3:]]))
    events.sort()
    first, last = events[0][0], events[-1][0] + int(max(cfg.reorder_hold_max_s, cfg.reorder_hold_s) * 1000) + 2 * int(tick_s * 1000)
    tick_ms = int(tick_s * 1000)
    ticks = [(t, -1, ["tick", "", t, "", ""]) for t in range(first + tick_ms, last + 1, tick_ms)]
    merged = sorted(events + ticks, key=lambda e: (e[0], e[1] >= 0, e[1]))  # a tick before the fixes of its instant
    (work / "events.json").write_text(json.dumps([e[2] for e in merged]))
    return {"fixes": len(events), "tick_rounds": len(ticks), "vehicles": len(reg.vehicles)}


def run_tree(tree: Path, work: Path, out: Path, profile: int = 0) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, str(WORKER), str(work), str(out)] + (["--profile", str(profile)] if profile else [])
    subprocess.run(cmd, env=env, cwd=tree, check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def first_difference(a: list[str], b: list[str]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"alert #{i}:\n  {x}\n  {y}"
    return f"alert lists differ in length: {len(a)} vs {len(b)}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.fleet_rules", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, help="source tree of the baseline (e.g. a git worktree of the commit before)")
    ap.add_argument("--candidate", type=Path, default=REPO, help="source tree of the candidate [this one]")
    ap.add_argument("--runs", type=int, default=3, help="interleaved runs of each tree [3]")
    ap.add_argument("--copies", type=int, default=3, help="copies of the default vehicles running every scenario [3]")
    ap.add_argument("--vehicles", type=int, default=50, help="simulated vehicles [50]")
    ap.add_argument("--seconds", type=int, default=600, help="seconds each simulated vehicle drives [600]")
    ap.add_argument("--tick-s", type=float, default=5.0, help="timer interval in arrival time [5]")
    ap.add_argument("--profile", type=int, default=0, help="one cProfile run of this tree, top N functions by own time")
    args = ap.parse_args(argv)
    trees = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("candidate", args.candidate.resolve())]
    with tempfile.TemporaryDirectory(prefix="fleet-rules-") as tmp:
        work = Path(tmp)
        size = write_workload(work, args.copies, args.vehicles, args.seconds, args.tick_s)
        print(f"workload: {size}", flush=True)
        if args.profile:
            r = run_tree(args.candidate.resolve(), work, work / "profile.json", args.profile)
            print(r["profile"])
            print(f"on_fix {r['on_fix_cpu_s'] / r['fixes'] * 1e6:.1f} us per fix (under cProfile)")
            return 0
        runs: list[tuple[str, dict[str, Any]]] = []
        for i in range(args.runs):
            for name, tree in trees if i % 2 == 0 else trees[::-1]:
                r = run_tree(tree, work, work / f"{name}-{i}.json")
                r["on_fix_us"] = r["on_fix_cpu_s"] / r["fixes"] * 1e6
                r["on_tick_us"] = r["on_tick_cpu_s"] / max(1, r["ticks"]) * 1e6
                r["engine_us_per_fix"] = (r["on_fix_cpu_s"] + r["on_tick_cpu_s"]) / r["fixes"] * 1e6
                print(f"run {i + 1} {name:9s}: on_fix {r['on_fix_us']:7.1f} us/fix, on_tick {r['on_tick_us']:5.1f} us/call, "
                      f"engine {r['engine_us_per_fix']:7.1f} us/fix; {r['counts']}", flush=True)
                runs.append((name, r))
    ref_name, ref = runs[0]
    same = True
    for name, r in runs[1:]:
        if r["alerts"] != ref["alerts"] or r["digests"] != ref["digests"]:
            same = False
            diff = [k for k in ref["digests"] if ref["digests"][k] != r["digests"][k]]
            print(f"DIFFERENT OUTPUT: {name} vs {ref_name}: {diff}; {first_difference(ref['alerts'], r['alerts'])}", file=sys.stderr)
    summary: dict[str, Any] = {}
    for name, _ in trees:
        mine = [r for n, r in runs if n == name]
        summary[name] = {k: {"median": statistics.median(r[k] for r in mine), "runs": [round(r[k], 1) for r in mine]}
                         for k in ("on_fix_us", "on_tick_us", "engine_us_per_fix")}
    if args.baseline:
        summary["ratio_on_fix_candidate_over_baseline"] = summary["candidate"]["on_fix_us"]["median"] / summary["baseline"]["on_fix_us"]["median"]
    result = {"workload": size, "args": {k: str(v) for k, v in vars(args).items()}, "identical_output": same,
              "counts": ref["counts"], "digests": ref["digests"], "summary": summary,
              "load_avg": os.getloadavg()}
    path = write_result("fleet_rules", result)
    print("\n| tree | on_fix us/fix (median) | runs | on_tick us/call | engine us/fix (on_fix + on_tick) |\n|---|---:|---|---:|---:|")
    for name, _ in trees:
        s = summary[name]
        print(f"| {name} | {s['on_fix_us']['median']:.1f} | {', '.join(map(str, s['on_fix_us']['runs']))} | "
              f"{s['on_tick_us']['median']:.1f} | {s['engine_us_per_fix']['median']:.1f} |")
    if args.baseline:
        print(f"\ncandidate / baseline (on_fix): {summary['ratio_on_fix_candidate_over_baseline']:.3f}")
    print(f"output identical across all runs: {same} ({ref['counts']}); load average {os.getloadavg()}\nJSON: {path}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
