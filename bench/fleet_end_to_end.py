"""End-to-end fleet benchmark: simulated vehicles -> MQTT -> ingest -> Kafka telemetry -> the
analytics flow (alerts, trips, points on Kafka) and the store flow (telemetry + the analytics
points -> InfluxDB), on the real local stack.

    .venv/bin/python -m bench.fleet_end_to_end [--rates 250,500,1000,2000] [--seconds 20]

For each rate (messages/s over all vehicles, each vehicle sending one fix per --interval s,
stamped with the wall-clock time it is published) it reports:
  sustained   the publish rate reached and whether the pipeline kept up: nothing lost, the
              store drained within --drain-limit-s after publishing stopped, and the p99
              alert lag stayed under that same limit;
  loss        published - points in InfluxDB (must be 0 at QoS 1), and dead letters;
  alert lag   p50 / p99 of (alert read from the run's alerts topic) - (event time of the fix that
              confirmed it), over harsh-driving and overspeed alerts;
  store lag   p50 / p99 of the freshness of InfluxDB, sampled every --sample-s: sample time
              minus the publish time of the newest telemetry point present;
  cost        CPU cores used by each flow process (ingest, analytics, store) and their peak
              memory, the publisher's cores, the shared services' (Mosquitto, Kafka, InfluxDB)
              and the whole machine's (other people's work on a shared machine shows there).
The highest rate that is sustained is the machine's figure. Every topic the flows read or write
is the run's own (<run>.telemetry, .deadletter, .alerts, .trips, .points, .config; checked before
any flow starts), the store flow gets the run's registry file and config topic, the bucket is
the run's; all deleted at the end. The fixes go through a private Mosquitto started from the
repo's template (services/mosquitto/mosquitto.conf.tmpl) on a free port, so no other ingest
session on the shared broker gets them and no one else's fixes reach this run (--shared-mqtt
for the shared broker; --mosquitto-autosave-interval N for the broker's save every N s instead of
after every change, the setting before 2026-12-01). JSON in var/bench/fleet_end_to_end-<time>.json. Numbers, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from influxdb_client import InfluxDBClient

from bench.common import REPO, CpuMeter, PrivateMosquitto, percentile, proc_cost, require_own_topics, service_pids, write_result
from settings.flows import AnalyticsSettings, IngestSettings, StoreSettings
from settings.stack import StackSettings, load_stack_settings
from simulators.vehicles import fleet_of_ids
from sources.mqtt_client import MqttConnection, connect_client, make_client

ALERT_TYPES = {"harsh_braking", "harsh_acceleration", "harsh_cornering", "overspeed"}


def payload_parts(ids: list[str], count: int, interval: float) -> list[tuple[str, bytes, bytes]]:
    """``count`` fixes of the simulated vehicles in turn, as (topic, JSON before ts, JSON after ts):
    the drive is computed before the clock starts (the simulator's step costs ~140 us a fix, more than
    publishing it), the timestamp is filled in when each one is published."""
    sims = fleet_of_ids(ids, seed=42)
    out = []
    for k in range(count):
        v = sims[k % len(sims)]
        doc = v.step(interval, 0)
        doc["ts"] = "@TS@"
        head, tail = json.dumps(doc).split('"@TS@"')
        out.append((f"fleet/{v.vehicle_id}/telemetry", f'{head}"'.encode(), f'"{tail}'.encode()))
    return out


def publish(mqtt_url: str, ids: list[str], rate: float, seconds: float, interval: float, out: mp.Queue,
            phase: float = 0.0, ready: Any = None) -> None:
    """Child process: publish ``rate`` fixes/s for ``seconds``, paced evenly, ts = publish time.
    ``phase`` (0..1) offsets this publisher's slots when several share the rate; ``ready`` (a barrier)
    starts them together. Its CPU is counted from the first publish (the drive is simulated
    before, ``payload_parts``)."""
    total = int(rate * seconds)
    parts = payload_parts(ids, total, interval)
    conn = MqttConnection.from_url(mqtt_url)
    client = make_client(conn, f"bench-pub-{uuid.uuid4().hex[:6]}")
    # No in-flight window: paho scans every in-flight message on each PUBACK when it has one (O(window)
    # per ack: 196 vs 132 us CPU a message at 3,000 msg/s with 100; bench/README.md); the pacing keeps
    # what is in flight to the rate times the ack time.
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    connect_client(client, conn, clean_start=True)
    client.loop_start()
    if ready is not None:
        ready.wait(600)
    t0, cpu0 = time.time(), time.process_time()
    last = None
    for k, (topic, head, tail) in enumerate(parts):
        target = t0 + (k + phase) / rate
        now = time.time()
        if target > now:
            time.sleep(target - now)
            now = target
        iso = datetime.fromtimestamp(int(now * 1000) / 1000, tz=UTC).isoformat(timespec="milliseconds")
        last = client.publish(topic, head + iso.encode() + tail, qos=1)
    if last is not None:
        last.wait_for_publish(timeout=120)
    elapsed = time.time() - t0
    cpu_s = time.process_time() - cpu0
    client.disconnect()
    client.loop_stop()
    out.put({"published": total, "t0": t0, "elapsed_s": elapsed, "cpu_s": cpu_s})


def start_publishers(mqtt_url: str, ids: list[str], rate: float, args: argparse.Namespace) -> tuple[list[mp.Process], mp.Queue]:
    """``args.publishers`` processes, each with its share of the vehicles and of the rate (one Python
    process tops out at a few thousand QoS 1 publishes/s; bench/README.md)."""
    n = max(1, min(args.publishers, len(ids)))
    out: mp.Queue = mp.Queue()
    ready = mp.Barrier(n)
    pubs = [mp.Process(target=publish, args=(mqtt_url, ids[i::n], rate / n, args.seconds, args.interval, out, i / n, ready))
            for i in range(n)]
    for p in pubs:
        p.start()
    return pubs, out


def join_publishers(pubs: list[mp.Process], out: mp.Queue) -> dict[str, float]:
    """The publishers' results added up: messages, CPU; the earliest start, the longest run."""
    dones = [out.get(timeout=600) for _ in pubs]
    for p in pubs:
        p.join()
    return {"published": sum(d["published"] for d in dones), "t0": min(d["t0"] for d in dones),
            "elapsed_s": max(d["elapsed_s"] for d in dones), "cpu_s": sum(d["cpu_s"] for d in dones)}


def publisher_only(args: argparse.Namespace, rates: list[float], run: str, logs: Path) -> dict[str, Any]:
    """The publisher alone into the private broker (no flows, no subscriber): can it offer each rate, at what CPU?"""
    ids = [f"{run}-{i:05d}" for i in range(int(max(rates) * args.interval))]
    steps = []
    with PrivateMosquitto(logs / "mosquitto", args.mosquitto_autosave_interval) as broker:
        for rate in rates:
            meter = CpuMeter({"mosquitto": broker.pid})
            meter.start()
            pubs, out = start_publishers(broker.url, ids[: int(rate * args.interval)], rate, args)
            done = join_publishers(pubs, out)
            other = meter.stop()
            steps.append({"rate_target": rate, "publishers": len(pubs), "published": done["published"],
                          "publish_rate": round(done["published"] / done["elapsed_s"], 1),
                          "publisher_cores": round(done["cpu_s"] / done["elapsed_s"], 2),
                          "publisher_cpu_us_per_msg": round(done["cpu_s"] / done["published"] * 1e6, 1),
                          "mosquitto_cores": other.get("mosquitto"), "machine_busy_cores": other["machine"]})
            print(f"[bench]   -> {json.dumps(steps[-1])}", file=sys.stderr, flush=True)
    print("\n| target msg/s | publishers | published msg/s | publisher cores | publisher CPU us / msg | mosquitto cores | machine busy |")
    print("|---|---|---|---|---|---|---|")
    for st in steps:
        print(f"| {st['rate_target']:,.0f} | {st['publishers']} | {st['publish_rate']:,.0f} | {st['publisher_cores']} | "
              f"{st['publisher_cpu_us_per_msg']} | {st['mosquitto_cores']} | {st['machine_busy_cores']} |")
    return {"steps": steps, "mode": "publisher only"}


class AlertLags(threading.Thread):
    """Reads the alerts topic and records read time - alert event time for live alert types."""

    def __init__(self, s: StackSettings, topic: str) -> None:
        super().__init__(daemon=True)
        self.lags_ms: list[float] = []
        self.stop_flag = threading.Event()
        self.consumer = Consumer({**s.kafka_config(), "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                                  "auto.offset.reset": "latest", "log_level": 3})
        self.consumer.subscribe([topic])

    def run(self) -> None:
        while not self.stop_flag.is_set():
            for m in self.consumer.consume(500, 0.2):
                if m.error() is None:
                    alert = json.loads(m.value())
                    if alert["type"] in ALERT_TYPES:
                        self.lags_ms.append(time.time() * 1000 - alert["ts"])
        self.consumer.close()


def influx_count(client: InfluxDBClient, bucket: str) -> int:
    """Telemetry points of this run's vehicles (fleet_id = the run, tagged by the store from the registry)."""
    tables = client.query_api().query(f'''from(bucket: "{bucket}") |> range(start: -2h)
        |> filter(fn: (r) => r._measurement == "telemetry" and r._field == "speed_kmh" and r.fleet_id == "{bucket}")
        |> group() |> count()''')
    return sum(r.get_value() for t in tables for r in t.records)


def topic_size(s: StackSettings, topic: str) -> int:
    """Records in a topic: the sum over partitions of high - low watermark."""
    c = Consumer({**s.kafka_config(), "group.id": "bench-size", "log_level": 3})
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    total = 0
    for p in parts:
        low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        total += high - low
    c.close()
    return total


def start_flow(name: str, env: dict[str, str], workers: int, logs: Path) -> subprocess.Popen:
    log = open(logs / f"{name}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "bytewax.run", f"dataflows.{name}:build_flow()", "-w", str(workers)],
                            cwd=REPO, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)


def wait_log(path: Path, text: str, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text(errors="replace").count(text) >= count:
            return
        time.sleep(0.2)
    raise SystemExit(f"bench: {text!r} not seen in {path} within {timeout_s}s")


def run_step(s, influx, bucket, topics, flows, rate, args, ids, base_count, mqtt_url: str,
             services: dict[str, int]) -> dict[str, Any]:
    lags = AlertLags(s, topics["alerts"])
    lags.start()
    time.sleep(1.0)
    costs_before = {n: proc_cost(p.pid) for n, p in flows.items()}
    meter = CpuMeter(services)
    meter.start()
    pubs, out = start_publishers(mqtt_url, ids, rate, args)
    samples: list[tuple[float, int]] = []
    while any(p.is_alive() for p in pubs):
        time.sleep(args.sample_s)
        samples.append((time.time(), influx_count(influx, bucket) - base_count))
    done = join_publishers(pubs, out)
    total, t0 = done["published"], done["t0"]
    drain_start, count = time.time(), samples[-1][1] if samples else 0
    while count < total and time.time() - drain_start < args.drain_timeout_s:
        time.sleep(args.sample_s)
        count = influx_count(influx, bucket) - base_count
        samples.append((time.time(), count))
    drained_s = time.time() - drain_start
    others = meter.stop()
    time.sleep(2)
    lags.stop_flag.set()
    lags.join()
    costs_after = {n: proc_cost(p.pid) for n, p in flows.items()}
    # the publishers' own time, not --seconds: a publisher slower than the rate takes longer for the
    # same count (before 2026-12-07 that overstated the cores: 6.15 "flow cores" on 2 cores)
    wall = done["elapsed_s"] + drained_s
    store_lags = [(ts - (t0 + (c - 1) / rate)) * 1000 for ts, c in samples if 0 < c <= total]
    spent = {n: costs_after[n]["cpu_s"] - costs_before[n]["cpu_s"] for n in flows}
    by_flow = {n: round(v / wall, 2) for n, v in spent.items()}
    cores = sum(spent.values()) / wall
    return {
        "rate_target": rate, "published": total, "publish_rate": round(total / done["elapsed_s"], 1),
        "in_influx": count, "lost": total - count, "drain_s": round(drained_s, 1),
        "sustained": count == total and drained_s <= args.drain_limit_s
                     and (percentile(lags.lags_ms, 99) or 0) <= args.drain_limit_s * 1000,
        "alerts_measured": len(lags.lags_ms),
        "alert_lag_ms_p50": percentile(lags.lags_ms, 50), "alert_lag_ms_p99": percentile(lags.lags_ms, 99),
        "store_lag_ms_p50": percentile(store_lags, 50), "store_lag_ms_p99": percentile(store_lags, 99),
        "flow_cores": round(cores, 2), "flow_cores_by_flow": by_flow,
        # flow CPU over the step and its drain / telemetry points stored: what the target of issue 11 is about
        "flow_cpu_us_per_msg": round(sum(spent.values()) / count * 1e6, 1) if count else None,
        "flow_cpu_us_per_msg_by_flow": {n: round(v / count * 1e6, 1) for n, v in spent.items()} if count else None,
        "publisher_cpu_us_per_msg": round(done["cpu_s"] / total * 1e6, 1) if total else None,
        "publisher_cores": round(done["cpu_s"] / done["elapsed_s"], 2), "publishers": len(pubs),
        "service_cores": {n: v for n, v in others.items() if n != "machine"}, "machine_busy_cores": others["machine"],
        "flow_peak_rss_mb": {n: c["peak_rss_mb"] for n, c in costs_after.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.fleet_end_to_end", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="250,500,1000,2000", help="messages/s to try, comma separated [250,500,1000,2000]")
    ap.add_argument("--seconds", type=float, default=20, help="publishing time per rate [20]")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between two fixes of one vehicle [1.0]")
    ap.add_argument("--ingest-workers", type=int, default=2, help="Bytewax workers of the ingest flow [2]")
    ap.add_argument("--publishers", type=int, default=2, help="publisher processes sharing the vehicles and the rate [2]")
    ap.add_argument("--publisher-only", action="store_true",
                    help="measure the publisher alone: private broker, no flows, no subscriber; prints its rate and CPU")
    ap.add_argument("--keep-going", action="store_true", help="try every rate, also after one that was not kept up")
    ap.add_argument("--sample-s", type=float, default=1.0, help="InfluxDB freshness sampling period [1.0]")
    ap.add_argument("--drain-limit-s", type=float, default=5.0, help="kept up = drained, and p99 alert lag, within this [5]")
    ap.add_argument("--drain-timeout-s", type=float, default=60.0, help="stop waiting for the backlog after [60]")
    ap.add_argument("--shared-mqtt", action="store_true",
                    help="publish through the shared stack's Mosquitto instead of a private one started from the repo's "
                         "template (other ingest sessions there get a copy of every fix; the bench removes its own sessions after)")
    ap.add_argument("--mosquitto-autosave-interval", type=int, metavar="N",
                    help="private broker saves every N s instead of the template's save after every change "
                         "(the setting before 2026-12-01: tells the broker's share of a figure from the flows')")
    args = ap.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    s = load_stack_settings()
    run = f"bench-{uuid.uuid4().hex[:8]}"
    logs = REPO / "var" / "bench" / run
    logs.mkdir(parents=True, exist_ok=True)
    if args.publisher_only:
        print(f"\nJSON: {write_result('fleet_publisher', publisher_only(args, rates, run, logs))}")
        return 0
    n_vehicles = int(max(rates) * args.interval)
    ids = [f"{run}-{i:05d}" for i in range(n_vehicles)]
    registry = logs / "vehicles.json"
    registry.write_text(json.dumps({"fleets": [{"id": run, "name": "bench", "speed_limit_kmh": 100}],
                                    "vehicles": [{"id": v, "name": v, "fleet_id": run} for v in ids]}))
    topics = {k: f"{run}.{k}" for k in ("telemetry", "deadletter", "alerts", "trips", "points", "config", "stops")}
    env = {"INFLUX_BUCKET_FLEET": run, "INFLUX_WRITE_TOKEN": s.influx_token, "TICKTRACK_LOG_LEVEL": "WARNING",
           "INGEST_TELEMETRY_TOPIC": topics["telemetry"], "INGEST_DEADLETTER_TOPIC": topics["deadletter"],
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run,
           "ANALYTICS_TELEMETRY_TOPIC": topics["telemetry"], "ANALYTICS_ALERTS_TOPIC": topics["alerts"],
           "ANALYTICS_TRIPS_TOPIC": topics["trips"], "ANALYTICS_POINTS_TOPIC": topics["points"],
           "ANALYTICS_DEADLETTER_TOPIC": topics["deadletter"], "ANALYTICS_CONFIG_TOPIC": topics["config"],
           "ANALYTICS_STOPS_TOPIC": topics["stops"],  # published, as make demo does (fleet.stops)
           "ANALYTICS_VEHICLES_FILE": str(registry), "ANALYTICS_GEOFENCES_FILE": "", "ANALYTICS_FROM_BEGINNING": "true",
           "STORE_TELEMETRY_TOPIC": topics["telemetry"], "STORE_POINTS_TOPIC": topics["points"],
           "STORE_DEADLETTER_TOPIC": topics["deadletter"], "STORE_CONFIG_TOPIC": topics["config"],
           "STORE_VEHICLES_FILE": str(registry), "STORE_FROM_BEGINNING": "true"}
    require_own_topics({**os.environ, **env}, run, IngestSettings, AnalyticsSettings, StoreSettings)
    with contextlib.ExitStack() as stack:
        if args.shared_mqtt:
            mqtt_url, services = s.mqtt_url, service_pids()
            stack.callback(drop_sessions, mqtt_url, [f"{run}-{i}" for i in range(args.ingest_workers)])
        else:
            broker = stack.enter_context(PrivateMosquitto(logs / "mosquitto", args.mosquitto_autosave_interval))
            mqtt_url, services = broker.url, {**service_pids(), "mosquitto": broker.pid}
        env["MQTT_URL"] = mqtt_url
        result = run_all(s, args, rates, run, logs, ids, topics, env, mqtt_url, services)
    result["mqtt"] = ("shared" if args.shared_mqtt else "private (services/mosquitto/mosquitto.conf.tmpl"
                      + (f", autosave_interval {args.mosquitto_autosave_interval} instead of on every change)"
                         if args.mosquitto_autosave_interval else ")"))
    best = result["highest_sustained_msgs_per_s"]
    path = write_result("fleet_end_to_end", result)
    print_table(result["steps"], best, path)
    return 0


def drop_sessions(mqtt_url: str, client_ids: list[str]) -> None:
    """Remove the ingest's persistent sessions from a shared broker (else they queue everyone's fixes for a day)."""
    conn = MqttConnection.from_url(mqtt_url)
    for cid in client_ids:
        client = make_client(conn, cid)
        client.loop_start()
        connect_client(client, conn, clean_start=True, session_expiry_s=0)
        time.sleep(0.5)
        client.disconnect()
        client.loop_stop()


def run_all(s: StackSettings, args: argparse.Namespace, rates: list[float], run: str, logs: Path, ids: list[str],
            topics: dict[str, str], env: dict[str, str], mqtt_url: str, services: dict[str, int]) -> dict[str, Any]:
    """Create the run's topics and bucket, start the three flows, step through the rates, clean up."""
    admin = AdminClient({**s.kafka_config(), "log_level": 2})
    specs = [NewTopic(topics["telemetry"], 6, 1), NewTopic(topics["deadletter"], 1, 1), NewTopic(topics["alerts"], 3, 1),
             NewTopic(topics["trips"], 3, 1), NewTopic(topics["points"], 6, 1), NewTopic(topics["stops"], 3, 1),
             NewTopic(topics["config"], 1, 1, config={"cleanup.policy": "compact"})]
    for f in admin.create_topics(specs).values():
        f.result(30)
    influx = InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=60_000)
    org_id = influx.organizations_api().find_organizations(org=s.influx_org)[0].id
    bucket = influx.buckets_api().create_bucket(bucket_name=run, org_id=org_id)
    flows = {"fleet_ingest": start_flow("fleet_ingest", {**env, "TICKTRACK_LOG_LEVEL": "INFO"}, args.ingest_workers, logs),
             "fleet_analytics": start_flow("fleet_analytics", env, 1, logs),
             "fleet_store": start_flow("fleet_store", env, 1, logs)}
    steps: list[dict[str, Any]] = []
    dead = points = 0
    try:
        wait_log(logs / "fleet_ingest.log", '"event": "mqtt_subscribed"', args.ingest_workers)
        time.sleep(3)
        for rate in rates:
            base = influx_count(influx, run)
            print(f"[bench] {rate:.0f} msg/s for {args.seconds:.0f} s ...", file=sys.stderr, flush=True)
            step = run_step(s, influx, run, topics, flows, rate, args, ids[: int(rate * args.interval)], base, mqtt_url, services)
            steps.append(step)
            print(f"[bench]   -> {json.dumps(step)}", file=sys.stderr, flush=True)
            if not step["sustained"] and not args.keep_going:
                break
        dead = topic_size(s, topics["deadletter"])
        points = topic_size(s, topics["points"])
    finally:
        for p in flows.values():
            p.send_signal(signal.SIGINT)
        for p in flows.values():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        admin.delete_topics(list(topics.values()))
        influx.buckets_api().delete_bucket(bucket)
        influx.close()
    best = max((st["publish_rate"] for st in steps if st["sustained"]), default=None)
    return {"steps": steps, "highest_sustained_msgs_per_s": best, "dead_letters": dead,
            "analytics_points_on_kafka": points, "topics": topics}


def print_table(steps: list[dict[str, Any]], best: float | None, path: Path) -> None:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:,.0f}"
    def cores(d: dict[str, float], names: tuple[str, ...]) -> str:
        return " / ".join(f"{d[n]:.2f}" if n in d else "-" for n in names)
    print("\n| target msg/s | published msg/s | kept up | lost | drain s | alert lag p50 / p99 ms | store lag p50 / p99 ms "
          "| flow cores | flow CPU us / msg | ingest / analytics / store | publisher | mosquitto / kafka / influxdb | machine busy | alerts |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for st in steps:
        print(f"| {st['rate_target']:,.0f} | {st['publish_rate']:,.0f} | {'yes' if st['sustained'] else 'no'} | {st['lost']} | "
              f"{st['drain_s']} | {ms(st['alert_lag_ms_p50'])} / {ms(st['alert_lag_ms_p99'])} | "
              f"{ms(st['store_lag_ms_p50'])} / {ms(st['store_lag_ms_p99'])} | {st['flow_cores']} | {ms(st.get('flow_cpu_us_per_msg'))} | "
              f"{cores(st['flow_cores_by_flow'], ('fleet_ingest', 'fleet_analytics', 'fleet_store'))} | {st['publisher_cores']} | "
              f"{cores(st['service_cores'], ('mosquitto', 'kafka', 'influxdb'))} | {st['machine_busy_cores']} | {st['alerts_measured']} |")
    print(f"\nhighest sustained rate: {best} msg/s; JSON: {path}")


if __name__ == "__main__":
    raise SystemExit(main())
