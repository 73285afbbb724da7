"""ticktrack's own Prometheus metrics, and the one HTTP endpoint a process serves them on.

Why here: sources, sinks and dataflows all count into the same few metrics (``prometheus-client``
counters in this process's default registry), and a process must never fail because of them:
``serve_metrics`` logs and carries on when its port is taken. Each metric is explained in
docs/operations.md. A process serves ``/metrics`` only with ``METRICS_PORT`` set; it then writes
its Prometheus target file (``METRICS_TARGETS_DIR``), which the stack's Prometheus reads.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import structlog
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings.errors import load_settings
from settings.origin import process_origin
from settings.stack import REPO_ROOT

log = structlog.get_logger(__name__)

MESSAGES = Counter("ticktrack_messages", "records through a flow's edges: in = read by a source step, "
                   "out = produced to a Kafka topic or written to InfluxDB, dead = produced to a dead-letter topic",
                   ["flow", "step", "outcome"])
DEAD_LETTERS = Counter("ticktrack_dead_letters", "dead letters produced, by the first words of their reason", ["flow", "reason"])
ALERTS = Counter("ticktrack_alerts", "alert records produced to an alerts topic, by alert type", ["flow", "type"])
SINK_WRITE_SECONDS = Histogram("ticktrack_sink_write_seconds", "time to write one chunk to a sink, retries included", ["flow", "sink"],
                               buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
SINK_RETRIES = Counter("ticktrack_sink_retries", "writes a sink tried again after a transient failure", ["flow", "sink"])
SINK_WRITE_ERRORS = Counter("ticktrack_sink_write_errors", "failed write attempts of a sink (each retry that failed)", ["flow", "sink"])
REORDER = Counter("ticktrack_reorder", "fixes the reorder buffer or the windows set aside, by reason (late, duplicate, ...)", ["flow", "kind"])
CONSUMED_OFFSET = Gauge("ticktrack_kafka_consumed_offset", "next offset a flow reads, per topic and partition (lag = log end - this)",
                        ["flow", "topic", "partition"])

_REASON_CHARS = 60


class MetricsSettings(BaseSettings):
    """The metrics endpoint of a process. Env prefix ``METRICS_``."""

    model_config = SettingsConfigDict(env_prefix="METRICS_", extra="ignore")

    port: int = Field(0, ge=0, le=65535, description="serve /metrics on 127.0.0.1:<port>; 0 = no endpoint (counters still kept)")
    targets_dir: str = Field("var/prometheus/targets", description="where the process writes its Prometheus target file (relative: to the checkout)")


def flow_label() -> str:
    """The ``flow`` label of this process: its flow's name, else its service (``settings.origin.process_origin``)."""
    service, flow = process_origin()
    return flow or service


_flow: str | None = None


def _label() -> str:
    global _flow
    if _flow is None:
        _flow = flow_label()
    return _flow


def reason_label(reason: str) -> str:
    """A bounded label out of a dead letter's reason: the text before its first ':' (the field or cause)."""
    head = reason.split(":", 1)[0].strip() or "unknown"
    return head[:_REASON_CHARS]


def count_in(step: str, n: int) -> None:
    MESSAGES.labels(_label(), step, "in").inc(n)


def consumed(topic: str, partition: int, next_offset: int) -> None:
    CONSUMED_OFFSET.labels(_label(), topic, str(partition)).set(next_offset)


def count_produced(topic: str, values: list[bytes | None]) -> None:
    """Records handed to Kafka for ``topic``: out, or dead (with reasons) on a dead-letter topic, alerts by type."""
    flow = _label()
    if topic.endswith("deadletter"):
        MESSAGES.labels(flow, f"kafka:{topic}", "dead").inc(len(values))
        for v in values:
            try:
                reason = str(json.loads(v or b"{}").get("reason", "unknown"))
            except (ValueError, AttributeError):
                reason = "unknown"
            DEAD_LETTERS.labels(flow, reason_label(reason)).inc()
        return
    MESSAGES.labels(flow, f"kafka:{topic}", "out").inc(len(values))
    for v in values:  # the reorder buffer's set-asides travel as late_fixes points (sinks/influx_points)
        if v is not None and v.startswith(b"late_fixes,"):
            REORDER.labels(flow, _late_reason(v)).inc()
    if topic.endswith(".alerts") or topic == "alerts":
        for v in values:
            try:
                kind = str(json.loads(v or b"{}").get("type", "unknown"))
            except (ValueError, AttributeError):
                kind = "unknown"
            ALERTS.labels(flow, kind[:_REASON_CHARS]).inc()


def _late_reason(line: bytes) -> str:
    """The ``reason`` field of a late_fixes line (late, duplicate, ...)."""
    start = line.find(b'reason="')
    if start < 0:
        return "late"
    end = line.find(b'"', start + 8)
    return line[start + 8:end].decode("utf-8", "replace")[:_REASON_CHARS] or "late"


def count_written(sink: str, n: int, seconds: float) -> None:
    MESSAGES.labels(_label(), sink, "out").inc(n)
    SINK_WRITE_SECONDS.labels(_label(), sink.split(":", 1)[0]).observe(seconds)


def count_retry(sink: str, n: int = 1) -> None:
    """One failed attempt that will be tried again."""
    SINK_RETRIES.labels(_label(), sink).inc(n)
    SINK_WRITE_ERRORS.labels(_label(), sink).inc(n)


def count_reorder(kind: str, n: int = 1) -> None:
    REORDER.labels(_label(), kind).inc(n)


def bytewax_serves(port: int) -> bool:
    """Whether Bytewax's own API server answers /metrics on ``port`` for this flow: started with
    ``BYTEWAX_DATAFLOW_API_ENABLED=true`` and ``BYTEWAX_DATAFLOW_API_PORT`` = ``METRICS_PORT``, it
    serves Bytewax's per-step metrics together with this registry (but listens on every interface)."""
    enabled = os.environ.get("BYTEWAX_DATAFLOW_API_ENABLED", "").lower() in ("1", "true", "yes")
    return enabled and os.environ.get("BYTEWAX_DATAFLOW_API_PORT", "3030") == str(port)


_served: int | None = None
_lock = threading.Lock()


def serve_metrics(settings: MetricsSettings | None = None) -> int | None:
    """Serve /metrics once per process (when ``METRICS_PORT`` is set) and write the target file.

    Returns the port, or None. A taken port is logged, never raised: metrics must not stop a flow."""
    global _served
    with _lock:
        if _served is not None:
            return _served
        s = settings or load_settings(MetricsSettings)
        if not s.port:
            return None
        if bytewax_serves(s.port):
            log.info("metrics_served_by_bytewax", port=s.port)
        else:
            try:
                start_http_server(s.port, addr="127.0.0.1")
            except OSError as exc:
                log.error("metrics_port_unavailable", port=s.port, error=str(exc))
                return None
        _served = s.port
        service, flow = process_origin()
        targets = Path(s.targets_dir) if os.path.isabs(s.targets_dir) else REPO_ROOT / s.targets_dir
        try:
            targets.mkdir(parents=True, exist_ok=True)
            tmp = targets / f".{_label()}-{s.port}.json.tmp"
            tmp.write_text(json.dumps([{"targets": [f"127.0.0.1:{s.port}"], "labels": {"flow": _label(), "service": service}}]))
            tmp.replace(targets / f"{_label()}-{s.port}.json")
        except OSError as exc:
            log.error("metrics_target_file_failed", dir=str(targets), error=str(exc))
        log.info("metrics_serving", port=s.port, flow=flow or service)
        return _served


class PrometheusSettings(BaseSettings):
    """Where the stack's Prometheus answers (the operations page reads it). Env prefix ``PROMETHEUS_`` (then ``var/stack.env``)."""

    model_config = SettingsConfigDict(env_prefix="PROMETHEUS_", extra="ignore")

    url: str = Field("http://127.0.0.1:9090", description="Prometheus base URL (services/stack.sh writes PROMETHEUS_URL to var/stack.env)")
    timeout_s: float = Field(5.0, gt=0, description="HTTP timeout of one query, s")


def load_prometheus_settings() -> PrometheusSettings:
    """From the environment, then ``var/stack.env``; a bad value raises ``ConfigError`` naming it."""
    from settings.stack import stack_env_path

    env_file = stack_env_path()
    return load_settings(PrometheusSettings, env_file if env_file.exists() else None)
