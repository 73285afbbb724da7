"""Processing stage alone, side by side with peers doing the same work on the same topic in the same run.

    .venv/bin/python bench/processing_peers.py [--vehicles 200] [--seconds-per-vehicle 300 | --records N]
                                               [--runs 1] [--skip-quix] [--recovery]
                                               [--partitions 6] [--cluster]

One throwaway topic (6 partitions, keyed by vehicle) is filled once with scripted Avro telemetry
(``bench/peers/workload.py``: known alerts, start / end markers per partition). Then each peer
reads all of it from the beginning, one after another (with --runs > 1 the order rotates, so
drift of the machine does not favour one peer), each with its own output topics (alerts, trips,
dead letters, points; every topic setting of the flow is checked to be the run's own):

  ticktrack  ``python -m bytewax.run "dataflows.fleet_analytics:build_flow()"``, unchanged, 1 worker;
  quix       the same rules as a Quix Streams app (``bench/peers/quix_fleet_rules.py``) in its own venv;
  ceiling    bare Bytewax: decode + key + a stateful count (``bench/peers/bytewax_ceiling.py``);
  ticktrack_2p  (--cluster) the same flow as a 2-process Bytewax cluster, 1 worker each
             (``-i 0`` / ``-i 1``, ``-a`` two local addresses): the scale-out of docs/scaling.md,
             CPU summed over both processes, the same alert ids required.

records/s = input records / processing time, where processing time = (spawn -> every end
marker out, for the rules peers its alert on the alerts topic and its alert point on the points
topic) minus the same for a run of that peer on a topic holding only the markers (start-up,
assignment, output latency). Neither rules peer writes InfluxDB: since the analytics flow puts
its points on Kafka (line protocol) and the store flow writes them, the Quix peer does the same.
Completion is exact, start-up is excluded. The alert ids of ticktrack and quix must be the same
set. Figures are ratios against the other peers of the same run; absolute numbers only describe
this machine at this moment.
Results: JSON in var/bench/processing_peers-<time>.json and a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from bench.common import machine, require_own_topics  # noqa: E402
from bench.peers.completion import OutputWatch, PeerGroup, PeerProcess, wait_visible  # noqa: E402
from bench.peers.quix_venv import quix_python, quix_version  # noqa: E402
from bench.peers.workload import END, START, Workload, drive, marker_fixes, write_registry  # noqa: E402
from contracts.avro import TELEMETRY_SCHEMA_HEADER, encode  # noqa: E402
from contracts.telemetry import Telemetry, to_avro_record  # noqa: E402
from settings.flows import AnalyticsSettings  # noqa: E402
from settings.stack import StackSettings, load_stack_settings  # noqa: E402
from sinks.kafka_producer import make_producer  # noqa: E402

PARTITIONS = 6
PEERS = ("ticktrack", "quix", "ceiling")
CLUSTER_PEER = "ticktrack_2p"  # --cluster: the analytics flow as 2 Bytewax processes
RULES_PEERS = ("ticktrack", "quix", CLUSTER_PEER)
# offline depends on wall-clock arrival and only ticktrack has a timer to raise it: keep it out
RULES_ENV = {"FLEET_OFFLINE_TIMEOUT_S": "1000000"}
MIN_PROCESSING_S = 2.0  # below this the subtracted start-up jitter is a sizeable share
POINT_MEASURES = ("alerts", "trips", "health", "safety_daily", "stats_1m", "late_fixes")


@dataclass
class Context:
    """Everything one bench run shares; ``cleanup`` removes what it created."""

    s: StackSettings
    w: Workload
    admin: AdminClient
    input_topic: str
    marker_topic: str
    config_topic: str
    vehicles_file: Path
    geofences_file: str
    quix_py: Path | None
    recovery: bool
    timeout_s: float
    work_dir: Path

    def create_topics(self, *names: str, partitions: int = 3) -> None:
        for fut in self.admin.create_topics([NewTopic(n, partitions, 1) for n in names]).values():
            fut.result(timeout=30)
        for n in names:  # metadata shows every partition with a leader before anyone uses them
            wait_visible(self.admin, n)

    def delete_topics(self, names: list[str]) -> None:
        if not names:
            return
        for fut in self.admin.delete_topics(names).values():
            try:
                fut.result(timeout=30)
            except Exception:  # noqa: BLE001 - cleanup only
                pass


def produce(s: StackSettings, w: Workload, topic: str, markers_only: bool = False) -> float:
    """The whole workload as Avro, keyed by vehicle, Kafka timestamp = event time; seconds taken.
    ``markers_only``: just the start and end markers (the calibration input)."""
    p = make_producer(s.kafka_config(), **{"linger.ms": "20"})
    started = time.monotonic()

    def send(f: Telemetry, partition: int | None = None) -> None:
        kwargs = {"partition": partition} if partition is not None else {}
        while True:
            try:
                p.produce(topic, encode("telemetry", to_avro_record(f)), f.vehicle_id.encode(),
                          headers=[TELEMETRY_SCHEMA_HEADER], timestamp=f.ts_ms, **kwargs)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)

    for part in range(w.partitions):  # markers first, pinned to each partition, then flushed
        for f in marker_fixes(w, START, part):
            send(f, part)
    p.flush(60)
    for f in [] if markers_only else drive(w):
        send(f)
    p.flush(120)
    for part in range(w.partitions):
        for f in marker_fixes(w, END, part):
            send(f, part)
    if p.flush(120):
        raise SystemExit("input not fully produced")
    return time.monotonic() - started


def read_topic(s: StackSettings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """Every record of ``topic`` up to its end offsets now, exactly."""
    c = Consumer({**s.kafka_config(), "group.id": f"{topic}-read", "enable.auto.commit": "false", "log_level": "2"})
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        todo = {p for p, hi in ends.items() if hi > 0}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in todo])
        out: list[tuple[bytes | None, bytes | None]] = []
        deadline = time.monotonic() + 120
        while todo and time.monotonic() < deadline:
            for m in c.consume(1000, 0.5):
                if m.error() is None:
                    out.append((m.key(), m.value()))
                    if m.offset() + 1 >= ends[m.partition()]:
                        todo.discard(m.partition())
        if todo:
            raise RuntimeError(f"{topic}: partitions {sorted(todo)} not read to their end")
        return out
    finally:
        c.close()


def measurement(line: bytes) -> str:
    """Measurement of one line-protocol record (up to the first unescaped comma or space; none are escaped here)."""
    ends = [i for i in (line.find(b","), line.find(b" ")) if i >= 0]
    return line[:min(ends)].decode() if ends else line.decode()


def is_alert_point(value: bytes) -> bool:
    return value.startswith(b"alerts,")


def points_counts(ctx: Context, topic: str) -> dict[str, int]:
    """Records per measurement on a peer's points topic (what a store flow would write to InfluxDB)."""
    counts = {m: 0 for m in POINT_MEASURES}
    for _, v in read_topic(ctx.s, topic):
        m = measurement(v or b"")
        counts[m] = counts.get(m, 0) + 1
    return counts


def free_ports(n: int) -> list[int]:
    """``n`` local TCP ports free at this moment (for a Bytewax cluster's ``-a`` addresses)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def peer_commands(ctx: Context, peer: str, tag: str, input_topic: str,
                  topics: dict[str, str]) -> tuple[list[list[str]], dict[str, str]]:
    """Command lines (one per process) and environment of one peer run."""
    if peer == CLUSTER_PEER:
        cmd, env = peer_command(ctx, "ticktrack", tag, input_topic, topics)
        addresses = ";".join(f"127.0.0.1:{port}" for port in free_ports(2))
        return [[*cmd, "-i", str(i), "-a", addresses] for i in range(2)], env
    cmd, env = peer_command(ctx, peer, tag, input_topic, topics)
    return [cmd], env


def peer_command(ctx: Context, peer: str, tag: str, input_topic: str, topics: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Command line and environment of one peer process."""
    env = {**os.environ, **RULES_ENV, "TICKTRACK_LOG_LEVEL": "WARNING",
           "ANALYTICS_TELEMETRY_TOPIC": input_topic, "ANALYTICS_CONFIG_TOPIC": ctx.config_topic,
           "ANALYTICS_ALERTS_TOPIC": topics.get("alerts", ""), "ANALYTICS_TRIPS_TOPIC": topics.get("trips", ""),
           "ANALYTICS_DEADLETTER_TOPIC": topics.get("dl", ""), "ANALYTICS_POINTS_TOPIC": topics.get("points", ""),
           "ANALYTICS_VEHICLES_FILE": str(ctx.vehicles_file),
           "ANALYTICS_GEOFENCES_FILE": ctx.geofences_file, "ANALYTICS_FROM_BEGINNING": "true",
           # no peer writes InfluxDB; should one ever try, it fails on a bucket that does not exist, never the demo's
           "INFLUX_BUCKET_FLEET": f"{tag}-no-bucket", "INFLUX_WRITE_TOKEN": ctx.s.influx_token}
    if peer in RULES_PEERS:
        require_own_topics(env, ctx.w.run, AnalyticsSettings)
    if peer == "ticktrack":
        cmd = [sys.executable, "-m", "bytewax.run", "dataflows.fleet_analytics:build_flow()", "-w", "1"]
        if ctx.recovery:
            rec = ctx.work_dir / f"recovery-{tag}"
            rec.mkdir()
            subprocess.run([sys.executable, "-m", "bytewax.recovery", str(rec), "1"], check=True, cwd=REPO)
            cmd += ["-r", str(rec), "-s", "10", "-b", "0"]
        return cmd, env
    if peer == "quix":
        assert ctx.quix_py is not None
        env.pop("VIRTUAL_ENV", None)
        env.update({"PYTHONPATH": str(REPO), "BENCH_QUIX_GROUP": tag, "BENCH_QUIX_COMMIT_S": "1",
                    "BENCH_QUIX_STATE_DIR": str(ctx.work_dir / f"quix-state-{tag}"),
                    "BENCH_QUIX_CHANGELOG": "1" if ctx.recovery else "0"})
        return [str(ctx.quix_py), "-W", "ignore", str(REPO / "bench" / "peers" / "quix_fleet_rules.py")], env
    env.update({"BENCH_CEILING_IN": input_topic, "BENCH_CEILING_OUT": topics["out"]})
    return [sys.executable, "-m", "bytewax.run", "bench.peers.bytewax_ceiling:build_flow()", "-w", "1"], env


def run_peer(ctx: Context, peer: str, index: int, input_topic: str, calibration: bool = False) -> dict[str, Any]:
    """One peer process over ``input_topic`` until every end marker is out; its timings and outputs."""
    tag = f"{ctx.w.run}-{peer}{index}{'c' if calibration else ''}"
    topics = {k: f"{tag}.{k}" for k in (("alerts", "trips", "dl", "points") if peer in RULES_PEERS else ("out",))}
    ctx.create_topics(*(t for k, t in topics.items() if k != "points"))
    if "points" in topics:  # as many partitions as the demo's fleet.points
        ctx.create_topics(topics["points"], partitions=PARTITIONS)
    cmds, env = peer_commands(ctx, peer, tag, input_topic, topics)
    log = REPO / "var" / "bench" / f"{tag}.log"
    proc = PeerGroup([PeerProcess(cmd, env, REPO, log if i == 0 else log.with_suffix(f".{i}.log"))
                      for i, cmd in enumerate(cmds)])
    kafka = ctx.s.kafka_config()
    if peer in RULES_PEERS:  # done = every end marker's alert on the alerts topic and its alert point on the points topic
        watches = [OutputWatch(kafka, topics["alerts"], ctx.w.partitions, proc.pids),
                   OutputWatch(kafka, topics["points"], ctx.w.partitions, proc.pids, accept=is_alert_point)]
    else:
        watches = [OutputWatch(kafka, topics["out"], ctx.w.partitions, proc.pids)]
    for watch in watches:
        watch.start()
    first = watches[0]
    result: dict[str, Any] = {"peer": peer, "run": index + 1, "log": str(log.relative_to(REPO))}
    try:
        deadline = time.monotonic() + ctx.timeout_s
        while (any(w.all_ends is None for w in watches) and proc.alive() and time.monotonic() < deadline
               and all(w.is_alive() or w.all_ends is not None for w in watches)):
            time.sleep(0.02)
        last = max(watches, key=lambda w: w.all_ends if w.all_ends is not None else float("inf"))
        done, cpu_done = last.all_ends, last.cpu_at_end
        usage = proc.stop()
        if done is None or first.first_start is None or cpu_done is None:
            errors = [w.error for w in watches if w.error]
            raise SystemExit(f"{peer} did not finish (exit {usage.returncode}, watchers {errors}); log: {log}")
        result.update({"to_done_s": done - proc.started, "cpu_at_done_s": cpu_done,
                       "first_output_to_done_s": done - first.first_start, "to_first_output_s": first.first_start - proc.started,
                       "alerts_to_points_done_s": done - first.all_ends,
                       "cpu_seconds_total": usage.cpu_s, "peak_rss_mb": usage.peak_rss_mb,
                       "exit_after_sigint": usage.returncode})  # measured before the stop; Bytewax exits 1 on SIGINT
        if peer in RULES_PEERS and not calibration:
            alerts = read_topic(ctx.s, topics["alerts"])
            ids = [json.loads(v)["alert_id"] for _, v in alerts if v]
            result.update({"alerts": len(ids), "alert_ids": set(ids),
                           "trips": len(read_topic(ctx.s, topics["trips"])), "dead_letters": len(read_topic(ctx.s, topics["dl"])),
                           "points": points_counts(ctx, topics["points"])})
        return result
    finally:
        for watch in watches:
            watch.done.set()
        if proc.alive():
            proc.stop()
        extra = []
        if peer == "quix":  # Quix's changelog topics and consumer group
            extra = [t for t in ctx.admin.list_topics(timeout=10).topics if tag in t and t not in topics.values()]
            try:
                for fut in ctx.admin.delete_consumer_groups([tag]).values():
                    fut.result(timeout=30)
            except Exception:  # noqa: BLE001 - cleanup only
                pass
        ctx.delete_topics([*topics.values(), *extra])


def measure(ctx: Context, peer: str, index: int) -> dict[str, Any]:
    """Processing time = (spawn -> done on the full input) - (spawn -> done on the markers alone).

    Why the subtraction: the first output of a Bytewax flow appears only after its first batch
    (up to 1,000 records per partition), of a Quix app after one record, so "first output -> done"
    would favour Bytewax. The markers-only run of the same peer right before pays the same
    start-up, assignment and output latency; what is left is the processing of the records.
    """
    print(f"[bench] {peer} (run {index + 1}): calibration on the markers alone, then the full input", file=sys.stderr)
    cal = run_peer(ctx, peer, index, ctx.marker_topic, calibration=True)
    full = run_peer(ctx, peer, index, ctx.input_topic)
    busy = full["to_done_s"] - cal["to_done_s"]
    cpu = full["cpu_at_done_s"] - cal["cpu_at_done_s"]
    full.update({"records": ctx.w.records, "seconds": round(busy, 3),
                 "records_per_s": round(ctx.w.records / busy) if busy > 0 else None,
                 "startup_seconds": round(cal["to_done_s"], 2), "cpu_seconds_processing": round(cpu, 2),
                 "cpu_ms_per_1k_records": round(1e6 * cpu / ctx.w.records, 1),
                 "first_output_to_done_records_per_s": round(ctx.w.records / full["first_output_to_done_s"]),
                 "calibration": {k: round(v, 3) if isinstance(v, float) else v for k, v in cal.items()}})
    for k in ("to_done_s", "cpu_at_done_s", "first_output_to_done_s", "to_first_output_s", "alerts_to_points_done_s"):
        full[k] = round(full[k], 3)
    return full


def summarize(runs: list[dict[str, Any]], peers: list[str]) -> dict[str, Any]:
    """Medians per peer and the ratios of the medians."""
    summary: dict[str, Any] = {}
    for peer in peers:
        mine = [r for r in runs if r["peer"] == peer]
        def med(key: str, mine: list = mine) -> float | None:
            values = [r[key] for r in mine if r.get(key) is not None]
            return statistics.median(values) if values else None
        rate = med("records_per_s")
        summary[peer] = {"records_per_s": round(rate) if rate else None,
                         "startup_seconds": round(med("startup_seconds"), 2),
                         "seconds_processing": round(med("seconds"), 2), "cpu_ms_per_1k_records": med("cpu_ms_per_1k_records"),
                         "cpu_seconds_total": med("cpu_seconds_total"), "peak_rss_mb": max(r["peak_rss_mb"] for r in mine),
                         "runs": [r["records_per_s"] for r in mine]}
    tt = summary["ticktrack"]["records_per_s"]
    ratios = {f"ticktrack_over_{peer}": round(tt / summary[peer]["records_per_s"], 3) if tt and summary[peer]["records_per_s"] else None
              for peer in peers if peer != "ticktrack"}
    warnings = [f"{peer}: processing took {p['seconds_processing']} s, near the start-up jitter (~0.2 s) that the "
                "markers-only run subtracts; its rate is rough - use more --records for a tighter figure"
                for peer, p in summary.items() if p["seconds_processing"] < MIN_PROCESSING_S]
    return {"per_peer": summary, "ratios": ratios, "warnings": warnings}


def equal_work(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Do all rules runs (ticktrack and quix) produce the same set of alert ids?"""
    sets = {f"{r['peer']}{r['run']}": set(r["alert_ids"]) for r in runs if r["peer"] in RULES_PEERS}
    ref_name = next(k for k in sets if k.startswith("ticktrack"))
    ref = sets[ref_name]
    return {"alert_ids_equal": all(s == ref for s in sets.values()), "reference": ref_name,
            "distinct_alerts": len(ref),
            "differences": {k: {"missing": len(ref - s), "extra": len(s - ref)} for k, s in sets.items() if s != ref}}


def table(result: dict[str, Any]) -> str:
    per, ratios = result["summary"]["per_peer"], result["summary"]["ratios"]
    tt = per["ticktrack"]["records_per_s"]
    rows = ["| peer | records/s (median) | ticktrack / peer | records/s per run | processing s | start-up s "
            "| CPU ms / 1k records | CPU s total | peak RSS MB |", "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for peer, p in per.items():
        ratio = f"{tt / p['records_per_s']:.3f}" if tt and p["records_per_s"] else "-"
        rows.append(f"| {peer} | {p['records_per_s']} | {ratio} | {', '.join(map(str, p['runs']))} | "
                    f"{p['seconds_processing']} | {p['startup_seconds']} | {p['cpu_ms_per_1k_records']} | "
                    f"{p['cpu_seconds_total']} | {p['peak_rss_mb']} |")
    eq = result["equal_work"]
    lines = [f"command: {result['command']}",
             f"machine: {result['machine']['host']}, {result['machine']['cpus']} CPUs {result['machine']['cpu']}, "
             f"{result['machine']['mem_gb']} GB, {result['machine']['platform']}",
             f"versions: {', '.join(f'{k} {v}' for k, v in result['versions'].items())}; date {result['started']}",
             f"input: {result['input']['records']} records ({result['input']['vehicles']} vehicles x "
             f"{result['input']['seconds_per_vehicle']} fixes + markers), {result['input']['partitions']} partitions; recovery "
             f"{'on' if result['recovery'] else 'off'}", "", *rows, "",
             "ratios: " + ", ".join(f"{k} = {v}" for k, v in ratios.items()),
             f"equal work: alert ids {'identical' if eq.get('alert_ids_equal') else 'DIFFER ' + json.dumps(eq.get('differences'))} "
             f"across the rules runs ({eq.get('distinct_alerts')} distinct alerts)",
             *(f"warning: {w}" for w in result["summary"]["warnings"])]
    for r in result["runs"]:
        if r["peer"] in RULES_PEERS:
            lines.append(f"  {r['peer']} run {r['run']}: {r['alerts']} alerts, {r['trips']} trips, {r['dead_letters']} dead letters; "
                         f"points on Kafka at stop {r['points']}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vehicles", type=int, default=200, help="simulated vehicles (default %(default)s)")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--seconds-per-vehicle", type=int, default=300, help="fixes per vehicle at 1 Hz (default %(default)s)")
    size.add_argument("--records", type=int, help="about this many records in total (sets --seconds-per-vehicle)")
    ap.add_argument("--runs", type=int, default=1, help="runs of each peer, order rotated between runs (default %(default)s)")
    ap.add_argument("--skip-quix", action="store_true", help="leave out the Quix Streams peer (no extra venv)")
    ap.add_argument("--recovery", action="store_true",
                    help="durable state in both rules peers: Bytewax recovery (-s 10) and Quix changelog topics")
    ap.add_argument("--geofences", default="config/geofences.geojson", help="geofences file of the rules ('' = none)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds one peer run may take (default %(default)s)")
    ap.add_argument("--partitions", type=int, default=PARTITIONS, help="partitions of the input topic (default %(default)s)")
    ap.add_argument("--cluster", action="store_true",
                    help=f"also run the analytics flow as a 2-process Bytewax cluster (peer {CLUSTER_PEER})")
    args = ap.parse_args()
    if args.cluster and args.recovery:
        raise SystemExit("--cluster with --recovery is not supported (one recovery store per process)")
    seconds = math.ceil(args.records / args.vehicles) if args.records else args.seconds_per_vehicle
    if seconds < 40:
        raise SystemExit("need at least 40 fixes per vehicle (the reorder buffer holds the first 30 s)")
    peers = [p for p in PEERS if not (args.skip_quix and p == "quix")]
    if args.cluster:
        peers.insert(1, CLUSTER_PEER)

    s = load_stack_settings()
    run = f"bench-{uuid.uuid4().hex[:8]}"
    start_ms = (int(time.time()) // 60 - 180) * 60_000  # three hours ago, on a minute boundary
    w = Workload(run, args.vehicles, seconds, args.partitions, start_ms)
    quix_py = None if args.skip_quix else quix_python()
    versions = {"python": platform.python_version(), "bytewax": version("bytewax"), "confluent-kafka": version("confluent-kafka")}
    if quix_py is not None:
        versions["quixstreams"] = quix_version(quix_py)
    (REPO / "var" / "bench").mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=f"{run}-"))
    admin = AdminClient({**s.kafka_config(), "log_level": 2})
    ctx = Context(s, w, admin, f"{run}.telemetry", f"{run}.markers", f"{run}.config", write_registry(w, work_dir / "vehicles.json"),
                  args.geofences, quix_py, args.recovery, args.timeout, work_dir)
    result: dict[str, Any] = {"command": " ".join([Path(sys.executable).name, *sys.argv]),
                              "machine": {"host": platform.node(), **machine()},
                              "versions": versions, "started": datetime.now(UTC).isoformat(timespec="seconds"),
                              "recovery": args.recovery, "peers": peers}
    try:
        ctx.create_topics(ctx.input_topic, ctx.marker_topic, partitions=args.partitions)
        ctx.create_topics(ctx.config_topic, partitions=1)
        print(f"[bench] producing {w.records} records to {ctx.input_topic}", file=sys.stderr)
        produce_s = produce(s, w, ctx.input_topic)
        produce(s, w, ctx.marker_topic, markers_only=True)
        result["input"] = {"topic": ctx.input_topic, "records": w.records, "vehicles": w.vehicles, "seconds_per_vehicle": seconds,
                           "partitions": args.partitions, "geofences": args.geofences, "produce_seconds": round(produce_s, 1)}
        runs = []
        for i in range(args.runs):
            for peer in peers[i % len(peers):] + peers[:i % len(peers)]:
                runs.append(measure(ctx, peer, i))
        result["equal_work"] = equal_work(runs)
        result["summary"] = summarize(runs, peers)
        for r in runs:  # the sets are compared above; the JSON keeps a digest
            if "alert_ids" in r:
                r["alert_ids_sha256"] = hashlib.sha256("\n".join(sorted(r.pop("alert_ids"))).encode()).hexdigest()
        result["runs"] = runs
    finally:
        ctx.delete_topics([ctx.input_topic, ctx.marker_topic, ctx.config_topic])
        shutil.rmtree(work_dir, ignore_errors=True)

    path = REPO / "var" / "bench" / f"processing_peers-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    text = table(result)
    result["table"] = text
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(text + f"\n\nresults: {path.relative_to(REPO)}")
    return 0 if result["equal_work"]["alert_ids_equal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
