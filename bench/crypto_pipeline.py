"""Benchmark of the crypto pipeline: 45 simulated exchanges x 20 symbols, real Kafka, the prices
flow, the crypto store flow, InfluxDB.

    .venv/bin/python bench/crypto_pipeline.py [--live-s 60] [--burst-s 20] [--workers 1]

Three measurements, each against a baseline taken in the same run on the same data:
  collected  quotes/s from the real collector (simulated exchanges polled as fast as it can) into
             Kafka, vs a bare producer of the same quotes (no polling, no validation);
  processed  quotes/s of the prices flow alone on that backlog (parse, book, spreads, alerts, OHLC,
             every output to Kafka: spreads, alerts and the points as line protocol), vs a bare
             consume-and-decode (``from_json``) of the same topic. The flow no longer writes
             InfluxDB; the store flow does, and is not part of this figure;
  delay      live (collector at --poll-interval, prices flow and crypto store running): receive
             time -> spread queryable in InfluxDB (collector -> tickers -> prices flow -> points
             topic -> crypto store -> InfluxDB), sampled by querying the newest spread of every
             symbol each --sample-ms, so a delay is exact to one sample period; baselines: receive
             time -> quote consumed from the tickers topic by a bare consumer, and receive time ->
             spread point consumed from the points topic (what the prices flow adds; the rest up
             to InfluxDB is the store's). The CPU cores of both flows and of Kafka and InfluxDB
             during the live phase are reported too.
Everything goes to throwaway topics (every topic setting of both flows is checked to be the
run's own before they start) and a throwaway bucket (deleted at the end). Results: JSON in
var/bench/crypto_pipeline-<time>.json and a table on stdout. Not a test: numbers, no thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from influxdb_client import InfluxDBClient  # noqa: E402

from bench.common import CpuMeter, proc_cost, require_own_topics, service_pids  # noqa: E402
from contracts.quote import from_json  # noqa: E402
from rules.crypto.config import DEFAULT_EXCHANGES, DEFAULT_SYMBOLS  # noqa: E402
from settings.crypto_flows import CryptoFlowSettings, CryptoStoreSettings  # noqa: E402
from settings.stack import StackSettings, load_stack_settings  # noqa: E402
from simulators.market import MarketConfig, SimulatedMarket  # noqa: E402
from sinks.kafka_producer import make_producer  # noqa: E402

PY = sys.executable


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gb = None
    try:
        mem_gb = round(int(next(row.split()[1] for row in open("/proc/meminfo") if row.startswith("MemTotal"))) / 1e6, 1)
    except (OSError, StopIteration):
        pass
    return {"host": platform.node(), "platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "cpu_model": cpu, "mem_gb": mem_gb}


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Stack:
    """Throwaway topics and bucket of one bench run."""

    def __init__(self, s: StackSettings, run: str) -> None:
        self.s, self.run = s, run
        self.admin = AdminClient({**s.kafka_config(), "log_level": 2})
        self.topics: list[str] = []
        self.bucket = run
        self.influx = InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=60_000)
        self._bucket = self.influx.buckets_api().create_bucket(bucket_name=self.bucket, org=s.influx_org)

    def topic(self, name: str, partitions: int) -> str:
        full = f"{self.run}.{name}"
        for fut in self.admin.create_topics([NewTopic(full, partitions, 1)]).values():
            fut.result(timeout=30)
        self.topics.append(full)
        return full

    def count(self, topic: str) -> int:
        c = Consumer({**self.s.kafka_config(), "group.id": f"{self.run}-count", "log_level": 2})
        try:
            parts = c.list_topics(topic, timeout=10).topics[topic].partitions
            return sum(hi - lo for lo, hi in (c.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in parts))
        finally:
            c.close()

    def close(self) -> None:
        for fut in self.admin.delete_topics(self.topics).values():
            try:
                fut.result(timeout=30)
            except Exception:  # noqa: BLE001 - cleanup
                pass
        self.influx.buckets_api().delete_bucket(self._bucket)
        self.influx.close()


def flow_env(st: Stack, tickers: str, spreads: str, points: str, sink: str) -> dict[str, str]:
    """Environment of the prices flow: every topic the run's own (checked), the run's bucket."""
    env = {**os.environ, "CRYPTO_FLOW_TICKERS_TOPIC": tickers, "CRYPTO_FLOW_SPREADS_TOPIC": spreads,
           "CRYPTO_FLOW_ALERTS_TOPIC": sink, "CRYPTO_FLOW_DEADLETTER_TOPIC": sink, "CRYPTO_FLOW_POINTS_TOPIC": points,
           "CRYPTO_FLOW_FROM_BEGINNING": "true", "INFLUX_BUCKET_CRYPTO": st.bucket,
           "INFLUX_WRITE_TOKEN": st.s.influx_token, "TICKTRACK_LOG_LEVEL": "WARNING"}
    require_own_topics(env, st.run, CryptoFlowSettings)
    return env


def store_env(st: Stack, tickers: str, points: str, sink: str) -> dict[str, str]:
    """Environment of the crypto store: the run's tickers and points topics, dead letters to the bench's sink."""
    env = {**os.environ, "CRYPTO_STORE_TICKERS_TOPIC": tickers, "CRYPTO_STORE_POINTS_TOPIC": points,
           "CRYPTO_STORE_DEADLETTER_TOPIC": sink, "CRYPTO_STORE_FROM_BEGINNING": "true",
           "INFLUX_BUCKET_CRYPTO": st.bucket, "INFLUX_WRITE_TOKEN": st.s.influx_token, "TICKTRACK_LOG_LEVEL": "WARNING"}
    require_own_topics(env, st.run, CryptoStoreSettings)
    return env


def start_flow(env: dict[str, str], workers: int, log: Path, flow: str = "crypto_prices") -> subprocess.Popen:
    return subprocess.Popen([PY, "-m", "bytewax.run", f"dataflows.{flow}:build_flow()", "-w", str(workers)],
                            cwd=REPO, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_collector(tickers: str, dead: str, seconds: float, poll_s: float) -> dict[str, Any]:
    """The real collector CLI; returns its own 'collector stopped' numbers."""
    res = subprocess.run([PY, "-m", "collectors.ccxt_collector", "--simulated", "yes", "--out", "kafka",
                          "--poll-interval", str(poll_s), "--duration", str(seconds), "--progress-every", "3600",
                          "--tickers-topic", tickers, "--deadletter-topic", dead],
                         cwd=REPO, capture_output=True, text=True, timeout=seconds + 300)
    if res.returncode != 0:
        raise SystemExit(f"collector failed:\n{res.stderr[-3000:]}")
    for line in res.stderr.splitlines():
        if '"collector stopped"' in line:
            return json.loads(line)
    raise SystemExit(f"no 'collector stopped' line:\n{res.stderr[-3000:]}")


def bare_produce(s: StackSettings, topic: str, n_target: int) -> float:
    """Baseline of collection: the simulator's quotes straight to Kafka (same producer settings); quotes/s."""
    market = SimulatedMarket(MarketConfig(start_ms=int(time.time() * 1000)))
    p = make_producer(s.kafka_config(), **{"linger.ms": 20})  # as KafkaProduce.from_stack, the collector's
    sent, started = 0, time.monotonic()
    while sent < n_target:
        market.step()
        for q in market.quotes()[0]:
            while True:
                try:
                    p.produce(topic, q.to_json(), q.partition_key.encode())
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
            sent += 1
    p.flush(60)
    return sent / (time.monotonic() - started)


def bare_consume(s: StackSettings, topic: str, total: int) -> float:
    """Baseline of processing: consume and decode every quote of ``topic``; quotes/s."""
    c = Consumer({**s.kafka_config(), "group.id": f"bench-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest",
                  "enable.auto.commit": "false", "log_level": 2})
    c.subscribe([topic])
    n, started = 0, None
    try:
        while n < total:
            for m in c.consume(1000, 1.0):
                if m.error() is not None:
                    continue
                started = started or time.monotonic()
                from_json(m.value())
                n += 1
    finally:
        c.close()
    return n / (time.monotonic() - started)


def spreads_span(s: StackSettings, topic: str, idle_s: float = 8.0, timeout_s: float = 600) -> tuple[int, float]:
    """Read the flow's spreads until none arrive for ``idle_s``; (records, seconds between first and last write)."""
    c = Consumer({**s.kafka_config(), "group.id": f"bench-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest",
                  "enable.auto.commit": "false", "log_level": 2})
    c.subscribe([topic])
    n, first, last = 0, None, None
    last_msg = time.monotonic()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            msgs = c.consume(5000, 0.5)
            for m in msgs:
                if m.error() is None:
                    ts = m.timestamp()[1]
                    first = ts if first is None else min(first, ts)
                    last = ts if last is None else max(last, ts)
                    n += 1
            if msgs:
                last_msg = time.monotonic()
            elif n and time.monotonic() - last_msg > idle_s:
                break
    finally:
        c.close()
    return n, max((last or 0) - (first or 0), 1) / 1000


class KafkaDelay(threading.Thread):
    """Baseline of delay: receive time -> consumed by a bare consumer, for every quote."""

    def __init__(self, s: StackSettings, topic: str) -> None:
        super().__init__(daemon=True)
        self.s, self.topic, self.delays, self.done = s, topic, [], threading.Event()

    def run(self) -> None:
        c = Consumer({**self.s.kafka_config(), "group.id": f"bench-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "latest",
                      "enable.auto.commit": "false", "log_level": 2})
        c.subscribe([self.topic])
        try:
            while not self.done.is_set():
                for m in c.consume(1000, 0.2):
                    if m.error() is None:
                        now = time.time() * 1000
                        self.delays.append(now - json.loads(m.value())["recv_ts_ms"])
        finally:
            c.close()


RECV_FIELD = re.compile(rb"[ ,]recv_ts_ms=(\d+)i")
SYMBOL_TAG = re.compile(rb"^spreads,(?:[^ ]*,)?symbol=([^, ]+)")


class PointsDelay(threading.Thread):
    """Intermediate baseline: receive time -> spread point on the points topic (the prices flow's
    share of the delay; the rest up to InfluxDB is the store's). Sampled like ``InfluxDelay``:
    every ``sample_ms``, the newest spread of every symbol that has a newer one than at the last
    sample, so both figures see the same spreads, not every spread of a poll's burst."""

    def __init__(self, s: StackSettings, topic: str, sample_ms: int) -> None:
        super().__init__(daemon=True)
        self.s, self.topic, self.sample_s, self.delays, self.done = s, topic, sample_ms / 1000, [], threading.Event()

    def run(self) -> None:
        c = Consumer({**self.s.kafka_config(), "group.id": f"bench-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "latest",
                      "enable.auto.commit": "false", "log_level": 2, "fetch.wait.max.ms": "10"})
        c.subscribe([self.topic])
        newest: dict[bytes, int] = {}
        sampled: dict[bytes, int] = {}
        next_sample = time.monotonic() + self.sample_s
        try:
            while not self.done.is_set():
                for m in c.consume(5000, min(0.05, max(0.0, next_sample - time.monotonic()))):
                    if m.error() is None and m.value().startswith(b"spreads,"):
                        sym, recv = SYMBOL_TAG.search(m.value()), RECV_FIELD.search(m.value())
                        if sym and recv:
                            newest[sym.group(1)] = max(newest.get(sym.group(1), 0), int(recv.group(1)))
                if time.monotonic() >= next_sample:
                    now = time.time() * 1000
                    for sym, recv in newest.items():
                        if recv > sampled.get(sym, 0):
                            sampled[sym] = recv
                            self.delays.append(now - recv)
                    next_sample += self.sample_s
        finally:
            c.close()


class InfluxDelay(threading.Thread):
    """Receive time -> spread queryable: the newest spread of every symbol, every ``sample_ms``."""

    def __init__(self, st: Stack, sample_ms: int) -> None:
        super().__init__(daemon=True)
        self.st, self.sample_s, self.delays, self.done = st, sample_ms / 1000, [], threading.Event()
        self.queries: list[float] = []

    def run(self) -> None:
        q = self.st.influx.query_api()
        flux = (f'from(bucket: "{self.st.bucket}") |> range(start: -1m)\n'
                '  |> filter(fn: (r) => r._measurement == "spreads" and r._field == "recv_ts_ms")\n  |> last()')
        seen: dict[str, int] = {}
        while not self.done.is_set():
            t0 = time.time()
            for table in q.query(flux):
                for r in table.records:
                    recv = int(r.get_value())
                    if recv > seen.get(r["symbol"], 0):
                        seen[r["symbol"]] = recv
                        self.delays.append(time.time() * 1000 - recv)
            self.queries.append(time.time() - t0)
            time.sleep(max(0.0, self.sample_s - (time.time() - t0)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--burst-s", type=float, default=20, help="seconds the collector fills the backlog (default %(default)s)")
    ap.add_argument("--burst-poll-s", type=float, default=0.05, help="poll interval while filling the backlog")
    ap.add_argument("--live-s", type=float, default=60, help="seconds of the live delay measurement (default %(default)s)")
    ap.add_argument("--poll-interval", type=float, default=1.0, help="collector poll interval in the live phase, s")
    ap.add_argument("--sample-ms", type=int, default=100, help="InfluxDB sampling period of the delay, ms")
    ap.add_argument("--workers", type=int, default=1, help="Bytewax workers of the flow (default %(default)s)")
    args = ap.parse_args()
    assert len(DEFAULT_EXCHANGES) == 45 and len(DEFAULT_SYMBOLS) == 20
    s = load_stack_settings()
    run = f"bench-{uuid.uuid4().hex[:8]}"
    out_dir = REPO / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    st = Stack(s, run)
    result: dict[str, Any] = {"command": " ".join([Path(PY).name, *sys.argv]), "machine": machine(),
                              "started": datetime.now(UTC).isoformat(timespec="seconds"),
                              "exchanges": 45, "symbols": 20, "workers": args.workers}
    try:
        backlog, bare_topic, spreads_a, points_a, live, spreads_b, points_b = (st.topic(n, p) for n, p in (
            ("backlog", 6), ("bare", 6), ("spreads-a", 3), ("points-a", 6), ("live", 6), ("spreads-b", 3), ("points-b", 6)))
        sink = st.topic("sink", 1)  # alerts and dead letters of the bench

        print(f"[bench] collect: collector -> {backlog} for {args.burst_s:g}s", file=sys.stderr)
        stats = run_collector(backlog, sink, args.burst_s, args.burst_poll_s)
        collected = st.count(backlog)
        collect_rate = collected / stats["seconds"]
        bare_rate = bare_produce(s, bare_topic, collected)
        result["collect"] = {"quotes": collected, "seconds": stats["seconds"], "quotes_per_s": round(collect_rate),
                             "baseline_bare_producer_per_s": round(bare_rate), "ratio": round(collect_rate / bare_rate, 3)}

        print(f"[bench] process: baseline consume+decode, then the flow on {collected} quotes", file=sys.stderr)
        consume_rate = bare_consume(s, backlog, collected)
        t0 = time.monotonic()
        flow = start_flow(flow_env(st, backlog, spreads_a, points_a, sink), args.workers, out_dir / f"{run}-flow-a.log")
        try:
            n_spreads, span_s = spreads_span(s, spreads_a)
            wall_s = time.monotonic() - t0
            flow_cpu_s = proc_cost(flow.pid)["cpu_s"]  # start-up included
        finally:
            stop(flow)
        process_rate = collected / span_s
        result["process"] = {"quotes": collected, "spread_records": n_spreads, "busy_seconds": round(span_s, 2),
                             "quotes_per_s": round(process_rate), "wall_seconds_incl_start": round(wall_s, 1),
                             "baseline_consume_decode_per_s": round(consume_rate), "ratio": round(process_rate / consume_rate, 3),
                             "points_records": st.count(points_a), "flow_cpu_s_incl_start": flow_cpu_s}

        print(f"[bench] delay: live for {args.live_s:g}s, poll every {args.poll_interval:g}s", file=sys.stderr)
        flow = start_flow(flow_env(st, live, spreads_b, points_b, sink), args.workers, out_dir / f"{run}-flow-b.log")
        store = start_flow(store_env(st, live, points_b, sink), 1, out_dir / f"{run}-store-b.log", "crypto_store")
        kafka_delay, points_delay, influx_delay = KafkaDelay(s, live), PointsDelay(s, points_b, args.sample_ms), InfluxDelay(st, args.sample_ms)
        meter = CpuMeter({**service_pids(), "crypto_prices": flow.pid, "crypto_store": store.pid})
        try:
            time.sleep(8)  # flows' start-up (ccxt fee tables, Kafka assignment)
            kafka_delay.start()
            points_delay.start()
            influx_delay.start()
            meter.start()
            live_stats = run_collector(live, sink, args.live_s, args.poll_interval)
            cores = meter.stop()
        finally:
            for t in (kafka_delay, points_delay, influx_delay):
                t.done.set()
            for t in (kafka_delay, points_delay, influx_delay):
                t.join(10)
            stop(flow)
            stop(store)
        warm = [d for d in influx_delay.delays[len(influx_delay.delays) // 10:]]  # drop the first tenth (warm-up)
        warm_points = points_delay.delays[len(points_delay.delays) // 10:]
        result["delay_ms"] = {
            "live_quotes_per_s": round(live_stats["quotes"] / live_stats["seconds"]),
            "spread_in_influx_p50": round(pct(warm, 50) or -1), "spread_in_influx_p99": round(pct(warm, 99) or -1),
            "samples": len(warm), "sample_period_ms": args.sample_ms,
            "query_ms_p50": round(1000 * (statistics.median(influx_delay.queries) if influx_delay.queries else 0), 1),
            "baseline_kafka_consume_p50": round(pct(kafka_delay.delays, 50) or -1),
            "baseline_kafka_consume_p99": round(pct(kafka_delay.delays, 99) or -1),
            "spread_point_on_kafka_p50": round(pct(warm_points, 50) or -1),
            "spread_point_on_kafka_p99": round(pct(warm_points, 99) or -1),
        }
        result["live_cores"] = cores  # crypto_prices, crypto_store, mosquitto, kafka, influxdb, machine (all of it)
        d = result["delay_ms"]
        d["ratio_p50"] = round(d["spread_in_influx_p50"] / max(d["baseline_kafka_consume_p50"], 1), 2)
    finally:
        st.close()

    path = out_dir / f"crypto_pipeline-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    m, c, p, d = result["machine"], result["collect"], result["process"], result["delay_ms"]
    print(f"command: {result['command']}\nmachine: {m['host']} {m['cpus']} CPUs {m['cpu_model']}, {m['mem_gb']} GB, "
          f"{m['platform']}, Python {m['python']}\n45 exchanges x 20 symbols, flow workers {args.workers}\n")
    print(f"{'measure':<34}{'value':>12}{'baseline':>12}{'ratio':>8}")
    print(f"{'collected quotes/s':<34}{c['quotes_per_s']:>12}{c['baseline_bare_producer_per_s']:>12}{c['ratio']:>8}")
    print(f"{'processed quotes/s (flow)':<34}{p['quotes_per_s']:>12}{p['baseline_consume_decode_per_s']:>12}{p['ratio']:>8}")
    print(f"{'delay p50 recv->spread in Influx':<34}{d['spread_in_influx_p50']:>10}ms{d['baseline_kafka_consume_p50']:>10}ms{d['ratio_p50']:>8}")
    print(f"{'delay p99 recv->spread in Influx':<34}{d['spread_in_influx_p99']:>10}ms{d['baseline_kafka_consume_p99']:>10}ms")
    print(f"{'delay p50 / p99 recv->spread point':<34}{d['spread_point_on_kafka_p50']:>10}ms{d['spread_point_on_kafka_p99']:>10}ms"
          "  (newest spread per symbol on the points topic, same sampling: the prices flow's share)")
    cores = result["live_cores"]
    print(f"\nlive phase: {d['live_quotes_per_s']} quotes/s; delay sampled every {d['sample_period_ms']} ms "
          f"({d['samples']} samples); CPU cores: " + ", ".join(f"{k} {v}" for k, v in cores.items())
          + f"\nprocess phase: {p['points_records']} point records, flow CPU {p['flow_cpu_s_incl_start']} s incl. start-up"
          + f"; results: {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
