"""What the operations page reads: Prometheus (PromQL), VictoriaLogs (LogsQL), Kafka dead letters.

Each read raises ``OpsUnavailable`` naming the service when it does not answer, so the page can
say which one is down instead of failing. docs/operations.md explains every query.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import pandas as pd
from confluent_kafka import Consumer, TopicPartition

from settings.log_shipping import load_log_shipping_settings
from settings.metrics import load_prometheus_settings
from settings.stack import load_stack_settings

#: time ranges of the log search: label -> LogsQL _time filter
RANGES = {"15 min": "15m", "1 h": "1h", "6 h": "6h", "24 h": "24h", "7 days": "7d"}


class OpsUnavailable(RuntimeError):
    """Prometheus, VictoriaLogs or Kafka did not answer."""


def _get(url: str, what: str, timeout_s: float, data: bytes | None = None) -> bytes:
    try:
        with urllib.request.urlopen(url, data=data, timeout=timeout_s) as resp:  # noqa: S310 - configured service URL
            body: bytes = resp.read()
            return body
    except (OSError, urllib.error.URLError) as exc:
        raise OpsUnavailable(f"{what} at {url.split('?')[0]} does not answer: {exc}") from exc


def promql(query: str) -> list[dict[str, Any]]:
    """An instant PromQL query's result vector."""
    s = load_prometheus_settings()
    body = _get(f"{s.url.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": query}), "Prometheus", s.timeout_s)
    doc = json.loads(body)
    if doc.get("status") != "success":
        raise OpsUnavailable(f"Prometheus refused {query!r}: {doc.get('error')}")
    result: list[dict[str, Any]] = doc["data"]["result"]
    return result


def frame(query: str, labels: list[str], value: str = "value") -> pd.DataFrame:
    """A PromQL vector as a table of ``labels`` and its value."""
    rows = [{**{k: r["metric"].get(k, "") for k in labels}, value: float(r["value"][1])} for r in promql(query)]
    return pd.DataFrame(rows, columns=[*labels, value])


def firing_alerts() -> list[dict[str, Any]]:
    """Prometheus' active alerts (pending and firing) with their labels and annotations."""
    s = load_prometheus_settings()
    doc = json.loads(_get(f"{s.url.rstrip('/')}/api/v1/alerts", "Prometheus", s.timeout_s))
    alerts: list[dict[str, Any]] = doc["data"]["alerts"]
    return alerts


def flows() -> pd.DataFrame:
    """Each ticktrack process Prometheus knows: up, records/s in, out and dead, and lag."""
    up = frame('up{job="ticktrack"}', ["flow", "instance"], "up")
    if up.empty:
        return pd.DataFrame(columns=["flow", "instance", "up", "in/s", "out/s", "dead/s", "lag"])
    for outcome in ("in", "out", "dead"):
        rates = frame(f'sum by (flow) (rate(ticktrack_messages_total{{outcome="{outcome}"}}[1m]))', ["flow"], f"{outcome}/s")
        up = up.merge(rates, on="flow", how="left")
    up = up.merge(frame("sum by (flow) (ticktrack:consumer_lag)", ["flow"], "lag"), on="flow", how="left")
    up["up"] = up["up"].map({1.0: "up", 0.0: "DOWN"})
    up["lag"] = [f"{int(x):,}" if pd.notna(x) else "no Kafka input" for x in up["lag"]]
    up = up.fillna({"in/s": 0.0, "out/s": 0.0, "dead/s": 0.0}).round({"in/s": 1, "out/s": 1, "dead/s": 2})
    return up.sort_values("flow").reset_index(drop=True)


def services() -> pd.DataFrame:
    """Every other scrape target (InfluxDB, VictoriaLogs, the ops exporter with Kafka and Mosquitto, Prometheus)."""
    t = frame('up{job!="ticktrack"}', ["job", "instance"], "up")
    t["up"] = t["up"].map({1.0: "up", 0.0: "DOWN"})
    return t.sort_values("job").reset_index(drop=True)


def broker_health() -> pd.DataFrame:
    """Kafka and Mosquitto as the ops exporter sees them (partitions read, clients connected)."""
    rows = [
        {"service": "kafka", "figure": "partitions watched", "value": len(promql("ticktrack_kafka_log_end_offset"))},
        {"service": "mosquitto", "figure": "clients connected",
         "value": next((float(r["value"][1]) for r in promql('ticktrack_mosquitto_sys{metric="broker/clients/connected"}')), None)},
        {"service": "mosquitto", "figure": "messages received / min",
         "value": next((float(r["value"][1]) for r in promql('ticktrack_mosquitto_sys{metric="broker/load/messages/received/1min"}')), None)},
    ]
    return pd.DataFrame(rows)


def dead_letter_reasons(limit: int = 10) -> pd.DataFrame:
    """Top dead-letter reasons over 1 h, records/s and count."""
    per_s = frame("sum by (flow, reason) (rate(ticktrack_dead_letters_total[5m]))", ["flow", "reason"], "per s (5 min)")
    hour = frame("sum by (flow, reason) (increase(ticktrack_dead_letters_total[1h]))", ["flow", "reason"], "last hour")
    out = hour.merge(per_s, on=["flow", "reason"], how="left").fillna(0.0).round({"last hour": 0, "per s (5 min)": 3})
    return out.sort_values("last hour", ascending=False).head(limit).reset_index(drop=True)


def sink_retries() -> pd.DataFrame:
    """Retries and p95 write latency per flow and sink over 1 h."""
    retries = frame("sum by (flow, sink) (increase(ticktrack_sink_retries_total[1h]))", ["flow", "sink"], "retries (1 h)")
    p95 = frame("histogram_quantile(0.95, sum by (flow, sink, le) (rate(ticktrack_sink_write_seconds_bucket[5m])))",
                ["flow", "sink"], "write p95 s")
    out = p95.merge(retries, on=["flow", "sink"], how="outer").fillna(0.0).round({"write p95 s": 3, "retries (1 h)": 0})
    return out.sort_values(["flow", "sink"]).reset_index(drop=True)


@dataclass(frozen=True)
class DeadLetterExample:
    topic: str
    reason: str
    source_topic: str
    payload: str


def dead_letter_examples(topics: list[str], per_partition: int = 3) -> list[DeadLetterExample]:
    """The newest dead letters of ``topics`` (a few per partition), newest first."""
    kafka = load_stack_settings().kafka_config()
    consumer = Consumer({**kafka, "group.id": "ticktrack-ops-page", "enable.auto.commit": "false", "log_level": 2})
    out: list[tuple[int, DeadLetterExample]] = []
    try:
        meta = consumer.list_topics(timeout=5)
        parts = []
        for t in topics:
            if t not in meta.topics or meta.topics[t].error:
                continue
            for p in meta.topics[t].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(t, p), timeout=5)
                if high > low:
                    parts.append(TopicPartition(t, p, max(low, high - per_partition)))
        if not parts:
            return []
        consumer.assign(parts)
        want = sum(1 for _ in parts) * per_partition
        for _ in range(10):
            for m in consumer.consume(want, 0.5):
                if m.error() is None:
                    try:
                        d = json.loads(m.value() or b"{}")
                    except ValueError:
                        d = {}
                    out.append((m.timestamp()[1], DeadLetterExample(m.topic() or "", str(d.get("reason", "?")), str(d.get("source_topic", "")),
                                                                    str(d.get("payload", ""))[:300])))
            if len(out) >= want:
                break
    except Exception as exc:  # noqa: BLE001 - Kafka away: the page says so
        raise OpsUnavailable(f"Kafka: {exc}") from exc
    finally:
        consumer.close()
    return [e for _, e in sorted(out, key=lambda x: -x[0])]


def field_values(field: str, time_range: str = "24h") -> list[str]:
    """Values of one log field (e.g. ``service``) seen in ``time_range``."""
    s = load_log_shipping_settings()
    data = urllib.parse.urlencode({"query": f"_time:{time_range}", "field": field}).encode()
    doc = json.loads(_get(f"{s.url.rstrip('/')}/select/logsql/field_values", "VictoriaLogs", s.timeout_s, data))
    return sorted(str(v["value"]) for v in doc.get("values", []))


def search_logs(query: str, time_range: str = "1h", services: list[str] | None = None, limit: int = 200) -> pd.DataFrame:
    """Log lines matching a LogsQL ``query`` in ``time_range``, optionally of some services, newest first."""
    s = load_log_shipping_settings()
    parts = [f"_time:{time_range}"]
    if services:
        parts.append("service:in(" + ",".join(json.dumps(x) for x in services) + ")")
    parts.append(f"({query})" if query.strip() else "*")
    full = " ".join(parts) + " | sort by (_time desc)"
    data = urllib.parse.urlencode({"query": full, "limit": str(limit)}).encode()
    body = _get(f"{s.url.rstrip('/')}/select/logsql/query", "VictoriaLogs", max(s.timeout_s, 10.0), data)
    rows = [json.loads(line) for line in body.decode("utf-8", "replace").splitlines() if line.strip()]
    cols = ["_time", "level", "service", "flow", "worker", "_msg"]
    table = pd.DataFrame([{**{c: r.get(c, "") for c in cols},
                           "fields": json.dumps({k: v for k, v in r.items() if k not in cols and not k.startswith("_")})} for r in rows],
                         columns=[*cols, "fields"])
    return table.rename(columns={"_time": "time", "_msg": "event"})
