"""Issue 11's targets against the figures of a bench run: ``python -m bench`` prints, after the
benchmarks, each target next to the measured figure with MET / NOT MET (or NOT MEASURED when the
run holds no such figure), and where a target is not met the next bottleneck - which process took
the most CPU per message in this run, and its biggest stage from the cost model below.

    .venv/bin/python -m bench.targets [JSON ...]    # judge given result files (default: the newest of each)

Why a module of its own: the verdicts are read from the JSON the benchmarks write
(var/bench/<name>-<time>.json), so any earlier run can be judged again, and the thresholds live
in one place. Numbers, not a test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import REPO

RESULTS = REPO / "var" / "bench"

# Biggest in-process stages per flow, us per fix: bench/README.md "Cost model" (2026-12-03,
# `python -m bench.fleet_stages`, `python -m bench.fleet_rules`). Keep in step with that table.
COST_MODEL: dict[str, list[tuple[str, float]]] = {
    "fleet_ingest": [("paho network loop + QoS 1 acks (py-spy ~40% of the flow)", 90.0),
                     ("Kafka produce, blocking per batch (the MQTT ack waits for it)", 30.0),
                     ("Avro encode (union branches named)", 21.0), ("parse_telemetry", 15.4)],
    # py-spy of the flow, 2026-12-03: on_fix 67% of 230 us/record; decode + check 21, Kafka source 17, windows 9.
    # on_fix re-measured 2026-12-07 (bench.fleet_rules, median of 3): 298 us/fix on this day's ~3x slower machine
    "fleet_analytics": [("engine.on_fix (rules; geofences, ranges, reorder buffer, overspeed the largest)", 298.0),
                        ("decode + registry check + bucketing", 21.0), ("Kafka source consume", 17.0),
                        ("1-minute windows", 9.0)],
    "fleet_store": [("InfluxDB write (HTTP)", 40.0), ("telemetry line", 20.0), ("Avro decode", 20.0)],
}


@dataclass(frozen=True)
class Verdict:
    target: str
    figure: str
    met: bool | None  # None: the run holds no figure for it
    next_bottleneck: str = ""

    def row(self) -> str:
        state = "NOT MEASURED" if self.met is None else "MET" if self.met else "NOT MET"
        nxt = "" if self.met else self.next_bottleneck
        return f"| {self.target} | {self.figure} | {state} | {nxt} |"


def _biggest_stage(flow: str) -> str:
    name, us = max(COST_MODEL.get(flow, [("?", 0.0)]), key=lambda s: s[1])
    return f"{name} ~{us:.0f} us/fix"


def _step_at(steps: list[dict[str, Any]], rate: float) -> dict[str, Any] | None:
    return next((st for st in steps if st["rate_target"] == rate), None)


def _hungriest_flow(step: dict[str, Any]) -> str:
    by_flow = step.get("flow_cpu_us_per_msg_by_flow") or {}
    if not by_flow:
        return "flow CPU per message not recorded by this run (bench before 2026-12-03)"
    flow = max(by_flow, key=by_flow.get)
    return f"{flow} {by_flow[flow]:,.0f} us/msg of {step['flow_cpu_us_per_msg']:,.0f}; its biggest stage: {_biggest_stage(flow)}"


def _publishing_limit(step: dict[str, Any]) -> str:
    """Why the offered rate was not published: the publisher processes' own CPU, or - when they
    were far from a core each - waiting for Mosquitto's QoS 1 acknowledgements (it saves its whole
    database after every change, services/mosquitto/mosquitto.conf.tmpl; docs/local-stack.md)."""
    rates = f"{step['publish_rate']:,.0f} of {step['rate_target']:,.0f} msg/s offered"
    per_process = (step.get("publisher_cores") or 0.0) / max(1, step.get("publishers") or 1)
    mosquitto = (step.get("service_cores") or {}).get("mosquitto", step.get("mosquitto_cores"))
    if per_process < 0.5:
        return (f"Mosquitto's acknowledgements: {rates}, the publishers only {per_process:.2f} cores each, "
                f"Mosquitto {mosquitto} cores (autosave after every change; --mosquitto-autosave-interval 10 "
                f"measures without it), machine busy {step['machine_busy_cores']} cores")
    return (f"the publisher: {rates} ({step.get('publisher_cpu_us_per_msg') or '?'} us CPU/msg, "
            f"machine busy {step['machine_busy_cores']} cores)")


def fleet(result: dict[str, Any]) -> list[Verdict]:
    steps: list[dict[str, Any]] = result["steps"]
    best = result.get("highest_sustained_msgs_per_s") or 0.0
    top = max(steps, key=lambda st: st["rate_target"])
    if top["publish_rate"] < 0.95 * top["rate_target"]:
        why = _publishing_limit(top)
    else:
        why = f"at {top['rate_target']:,.0f} msg/s: {_hungriest_flow(top)}; machine busy {top['machine_busy_cores']} cores"
    rates = ", ".join(f"{st['rate_target']:,.0f}" for st in steps)
    out = [Verdict("fleet: sustained >= 5,000 msg/s, 0 lost, drained within 5 s",
                   (f"{best:,.0f} msg/s highest kept up" if best else "no step kept up") + f" (steps {rates})",
                   any(st["sustained"] and st["rate_target"] >= 5000 and st["publish_rate"] >= 0.98 * st["rate_target"]
                       for st in steps), why)]
    for rate, limit, name in ((2500, 1000, "fleet: alert lag p99 <= 1 s at 2,500 msg/s"),
                              (10000, 250, "fleet stretch: 10,000 msg/s, alert lag p99 <= 250 ms")):
        st = _step_at(steps, rate)
        if st is None:
            out.append(Verdict(name, f"no {rate:,} msg/s step in this run", None))
            continue
        p99 = st["alert_lag_ms_p99"]
        ok = st["sustained"] and p99 is not None and p99 <= limit
        out.append(Verdict(name, f"p99 {p99 or float('nan'):,.0f} ms, kept up: {'yes' if st['sustained'] else 'no'}", ok,
                           _hungriest_flow(st)))
    spent = [(st["flow_cpu_us_per_msg"], st["in_influx"]) for st in steps if st.get("flow_cpu_us_per_msg")]
    if spent:
        mean = sum(us * n for us, n in spent) / sum(n for _, n in spent)
        per_step = ", ".join(f"{st['rate_target']:,.0f}: {st['flow_cpu_us_per_msg']:,.0f}" for st in steps
                             if st.get("flow_cpu_us_per_msg"))
        out.append(Verdict("fleet: CPU per message across the three flows <= 150 us", f"{mean:,.0f} us ({per_step})",
                           mean <= 150, _hungriest_flow(top)))
    else:
        out.append(Verdict("fleet: CPU per message across the three flows <= 150 us", "not recorded by this run", None))
    return out


def peers(result: dict[str, Any]) -> list[Verdict]:
    summary = result["summary"]
    ratios, per_peer = summary["ratios"], summary["per_peer"]
    tt = per_peer["ticktrack"]
    ceiling = ratios.get("ticktrack_over_ceiling")
    nxt = (f"ticktrack {tt['cpu_ms_per_1k_records']} CPU ms / 1k records against the ceiling's "
           f"{per_peer.get('ceiling', {}).get('cpu_ms_per_1k_records', '?')}: {_biggest_stage('fleet_analytics')}")
    out = [Verdict("processing: ticktrack >= 1.0x the bare Bytewax ceiling",
                   f"{ceiling}x ({tt['records_per_s']:,} records/s)" if ceiling is not None else "ceiling skipped",
                   None if ceiling is None else ceiling >= 1.0, nxt)]
    quix = ratios.get("ticktrack_over_quix")
    same = result["equal_work"]["alert_ids_equal"]
    out.append(Verdict("processing: same alert ids as the Quix Streams peer and faster than it",
                       "Quix peer skipped" if quix is None else f"{quix}x Quix, alert ids equal: {same}",
                       None if quix is None else bool(same and quix > 1.0), nxt))
    return out


def crypto(result: dict[str, Any]) -> list[Verdict]:
    p, d = result["process"], result["delay_ms"]
    cores = result.get("live_cores", {})
    nxt = (f"the prices flow ({p['quotes_per_s']:,} quotes/s, {p.get('ratio', '?')}x bare consume + decode; "
           f"live phase crypto_prices {cores.get('crypto_prices', '?')} cores)")
    out = [Verdict("crypto: prices flow >= 10,000 quotes/s (45 x 20)", f"{p['quotes_per_s']:,} quotes/s",
                   p["quotes_per_s"] >= 10000, nxt)]
    live = d["live_quotes_per_s"]
    p99 = d["spread_in_influx_p99"]
    figure = f"p99 {p99:,} ms at {live:,} quotes/s"
    if live < 0.9 * 5000:
        out.append(Verdict("crypto: receive -> spread in InfluxDB p99 <= 250 ms at 5,000 quotes/s",
                           figure + " (the live phase is not at 5,000)", None))
    else:
        out.append(Verdict("crypto: receive -> spread in InfluxDB p99 <= 250 ms at 5,000 quotes/s", figure, p99 <= 250,
                           f"receive -> consumed p99 {d['baseline_kafka_consume_p99']} ms of it"))
    return out


JUDGES = {"fleet_end_to_end": fleet, "processing_peers": peers, "crypto_pipeline": crypto}


def newest(name: str, since: float = 0.0) -> Path | None:
    """The newest var/bench/<name>-*.json written at or after ``since`` (epoch seconds)."""
    found = [p for p in RESULTS.glob(f"{name}-*.json") if p.stat().st_mtime >= since]
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


def verdicts(paths: Iterable[Path]) -> list[tuple[Path, Verdict]]:
    out = []
    for path in paths:
        result = json.loads(path.read_text())
        name = result.get("benchmark") or path.name.rsplit("-", 1)[0]
        for v in JUDGES[name](result):
            out.append((path, v))
    return out


def print_verdicts(paths: list[Path]) -> None:
    print("\n## issue 11 targets (bench/targets.py)\n")
    print("| target | measured | verdict | next bottleneck where not met |\n|---|---|---|---|")
    for _, v in verdicts(paths):
        print(v.row())
    print("\nfrom: " + ", ".join(str(p) for p in paths))
    print("not judged by the bench: the fault suite (tests/faults, the crash-recovery test's replayed alert ids)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.targets", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="*", type=Path, help="result files [the newest of each benchmark]")
    args = ap.parse_args(argv)
    paths = args.json or [p for p in (newest(n) for n in JUDGES) if p is not None]
    if not paths:
        print(f"no results in {RESULTS}", file=sys.stderr)
        return 1
    print_verdicts(paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
