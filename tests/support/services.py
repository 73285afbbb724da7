"""Helpers for integration tests against the real local stack (services/stack.sh up).

Tests that need a service call ``require_stack()``: when a service does not answer it fails
the test with the command to run - it never skips.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from influxdb_client import InfluxDBClient

from settings.stack import REPO_ROOT, StackSettings, load_stack_settings
from sources.mqtt_client import MqttConnection, connect_client, make_client


def require_stack() -> StackSettings:
    """Settings of the running stack, or a failed test naming what is missing."""
    s = load_stack_settings()
    problems = []
    if not s.influx_token:
        problems.append("no INFLUX_TOKEN (var/stack.env missing?)")
    try:
        admin = AdminClient({**s.kafka_config(), "log_level": 2})
        admin.describe_cluster(request_timeout=5).result(timeout=8)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"Kafka at {s.kafka_bootstrap}: {exc}")
    try:
        with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org) as c:
            if not c.ping():
                problems.append(f"InfluxDB at {s.influx_url} does not answer")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"InfluxDB at {s.influx_url}: {exc}")
    if problems:
        pytest.fail("local stack not ready - run `services/stack.sh up`: " + "; ".join(problems), pytrace=False)
    return s


def unique(prefix: str) -> str:
    """A name no other test run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@contextmanager
def kafka_topics(s: StackSettings, *names: str, partitions: int = 3, replication: int = 1,
                 config: dict[str, str] | None = None) -> Iterator[tuple[str, ...]]:
    """Create uniquely named topics for one test and delete them afterwards."""
    admin = AdminClient({**s.kafka_config(), "log_level": 2})
    for fut in admin.create_topics([NewTopic(n, partitions, replication, config=config or {}) for n in names]).values():
        fut.result(timeout=30)
    try:
        yield names
    finally:
        for fut in admin.delete_topics(list(names)).values():
            try:
                fut.result(timeout=30)
            except Exception:  # noqa: BLE001 - cleanup only
                pass


def write_registry(path: Path, fleets: dict[str, list[str]]) -> Path:
    """A registry file with the given fleets and their vehicles (ids as given), for a test's flows."""
    import json

    path.write_text(json.dumps({
        "fleets": [{"id": f, "name": f"Fleet {f}"} for f in fleets],
        "vehicles": [{"id": v, "name": f"Vehicle {v}", "fleet_id": f} for f, vs in fleets.items() for v in vs],
    }))
    return path


@contextmanager
def store_flow_topics(s: StackSettings, run: str, vehicles_file: Path) -> Iterator[dict[str, str]]:
    """The store flow's own points and (compacted) config topics for one test, and its environment
    (telemetry and dead-letter topics are the test's to set)."""
    points, config = f"{run}.points", f"{run}.config"
    with kafka_topics(s, points), kafka_topics(s, config, partitions=1, config={"cleanup.policy": "compact"}):
        yield {"STORE_POINTS_TOPIC": points, "STORE_CONFIG_TOPIC": config, "STORE_VEHICLES_FILE": str(vehicles_file)}


def consume(s: StackSettings, topic: str, until: Callable[[list], bool], timeout_s: float = 60.0, settle_s: float = 2.0) -> list:
    """Read ``topic`` from the beginning until ``until(messages)`` holds, then ``settle_s`` more
    seconds to catch any extra (duplicate) message; returns all messages read."""
    consumer = Consumer({**s.kafka_config(), "group.id": unique("test"), "auto.offset.reset": "earliest",
                         "enable.auto.commit": "false", "log_level": 2})
    consumer.subscribe([topic])
    msgs: list = []
    deadline = time.monotonic() + timeout_s
    settle_end = None
    try:
        while time.monotonic() < (settle_end or deadline):
            for m in consumer.consume(500, 0.5):
                if m.error() is None:
                    msgs.append(m)
                elif m.error().code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(m.error())
            if settle_end is None and until(msgs):
                settle_end = time.monotonic() + settle_s
    finally:
        consumer.close()
    return msgs


def _end_offsets(consumer: Consumer, topic: str, deadline: float) -> dict[int, int]:
    """Each partition's end offset; retried while the client's metadata does not know the topic's
    partitions yet ("Unknown partition" right after it was created, seen on a loaded machine)."""
    while True:
        try:
            meta = consumer.list_topics(topic, timeout=30).topics[topic]
            if meta.error is not None:
                raise KafkaException(meta.error)
            return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in meta.partitions}
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def read_to_end(s: StackSettings, topic: str, timeout_s: float = 120.0) -> list:
    """Every message in ``topic`` up to the end offsets it has now: a condition, where a fixed
    few seconds of ``consume`` returned nothing on a loaded machine (the group had not joined yet).
    Raises if the end is not reached within ``timeout_s``."""
    consumer = Consumer({**s.kafka_config(), "group.id": unique("test"), "enable.auto.commit": "false", "log_level": 2})
    deadline = time.monotonic() + timeout_s
    try:
        ends = _end_offsets(consumer, topic, deadline)
        todo = {p: end for p, end in ends.items() if end > 0}
        if not todo:
            return []
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in todo])
        msgs: list = []
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: end offsets {ends} not reached in {timeout_s} s ({len(msgs)} read)")
            for m in consumer.consume(500, 0.5):
                if m.error() is not None:
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        raise RuntimeError(m.error())
                    continue
                if m.offset() < todo.get(m.partition(), -1):
                    msgs.append(m)
                if m.partition() in todo and m.offset() + 1 >= todo[m.partition()]:
                    del todo[m.partition()]
        return msgs
    finally:
        consumer.close()


def influx_query(s: StackSettings, flux: str, params: dict | None = None) -> list[dict]:
    """Run a Flux query with the operator token; rows as dicts."""
    with InfluxDBClient(url=s.influx_url, token=s.influx_token, org=s.influx_org, timeout=30_000) as c:
        return [r.values for t in c.query_api().query(flux, params=params) for r in t.records]


class FlowProcess:
    """A dataflow running as a real process, with its log file."""

    def __init__(self, proc: subprocess.Popen, log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path
        self.killed = False

    def kill9(self) -> None:
        """Crash the flow (SIGKILL): no shutdown code runs, as on a power loss."""
        self.killed = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def wait_for_log(self, text: str, count: int = 1, timeout_s: float = 120.0) -> None:
        """Block until ``text`` appears ``count`` times in the log (e.g. every worker subscribed)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.log_path.read_text(errors="replace").count(text) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{text!r} x{count} not in flow log within {timeout_s}s: {self.log_path}")


@contextmanager
def running_flow(flow: str, env: dict[str, str], workers: int = 1, recovery_dir: Path | None = None,
                 cluster: tuple[int, str] | None = None) -> Iterator[FlowProcess]:
    """Run ``python -m bytewax.run <flow>`` as a real process; stop it (SIGINT) afterwards.
    ``cluster=(process_id, "host:port;host:port")`` makes it one process of a Bytewax cluster."""
    cmd = [sys.executable, "-m", "bytewax.run", flow, "-w", str(workers)]
    if cluster is not None:
        cmd += ["-i", str(cluster[0]), "-a", cluster[1]]
    if recovery_dir is not None:
        cmd += ["-r", str(recovery_dir), "-s", "1", "-b", "0"]
    log_path = REPO_ROOT / "var" / "logs" / f"test-{unique('flow')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        try:
            flow_process = FlowProcess(proc, log_path)
            yield flow_process
            if proc.poll() is not None and not flow_process.killed:
                raise AssertionError(f"flow {flow} exited early with {proc.returncode}; log: {log_path}")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def device_topic(topic: str) -> str:
    """The MQTT topic a test device publishes a contract topic on: under the run's topic root
    (``INGEST_MQTT_TOPIC_ROOT``, set by tests/conftest.py), which the tests' ingests subscribe to."""
    return os.environ.get("INGEST_MQTT_TOPIC_ROOT", "") + topic


def publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    """Publish (topic, payload) pairs at QoS 1, each under the run's topic root (``device_topic``),
    and wait until the broker acknowledged each."""
    conn = MqttConnection.from_url(url)
    client = make_client(conn, unique("test-pub"))
    connect_client(client, conn, clean_start=True)
    client.loop_start()
    infos = [client.publish(device_topic(t), p, qos=1) for t, p in messages]
    for info in infos:
        info.wait_for_publish(timeout=30)
    client.disconnect()
    client.loop_stop()
    assert all(info.is_published() for info in infos)
