"""``python -m jobs.ops_exporter``: what Prometheus cannot scrape by itself, and the way back of its alerts.

- Kafka log-end offsets per topic and partition (``ticktrack_kafka_log_end_offset``): with each
  flow's ``ticktrack_kafka_consumed_offset`` they give the consumer lag (Bytewax keeps its
  positions in its recovery store, not in consumer groups, so no Kafka lag exporter can see them).
- Mosquitto's ``$SYS`` topics as gauges (``ticktrack_mosquitto_sys{metric="broker/clients/connected"}``).
- ``POST /alertmanager``: Alertmanager's webhook. Each firing (or resolved) rule becomes an alert
  record on the notifier's topic (``OPS_ALERTS_TOPIC``, default ``fleet.alerts``), so the
  notifier's recipients of ``all`` alerts get it by webhook or e-mail like any other alert.

Settings: ``OPS_*`` (docs/configuration.md), the stack from the environment / ``var/stack.env``.
Every metric and the alert record are explained in docs/operations.md. Stops on SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings import topics
from settings.errors import load_settings, run_main
from settings.logs import configure_logging
from settings.stack import load_stack_settings
from sources.mqtt_client import MqttConnection, connect_client, make_client

log = structlog.get_logger(__name__)

LOG_END = Gauge("ticktrack_kafka_log_end_offset", "offset the next record of a partition will get", ["topic", "partition"])
MOSQUITTO = Gauge("ticktrack_mosquitto_sys", "numeric value of a Mosquitto $SYS topic (the topic after $SYS/)", ["metric"])
ALERTS_FORWARDED = Gauge("ticktrack_ops_alerts_forwarded", "Alertmanager notifications turned into alert records since start", [])
SCRAPE_ERRORS = Gauge("ticktrack_ops_exporter_errors", "failed Kafka offset reads since start", [])
_NUMBER = re.compile(rb"^\s*-?\d+(\.\d+)?\s*$")


class OpsExporterSettings(BaseSettings):
    """The ops exporter (jobs/ops_exporter.py). Env prefix ``OPS_``."""

    model_config = SettingsConfigDict(env_prefix="OPS_", extra="ignore")

    exporter_port: int = Field(9200, ge=1, le=65535, description="serve /metrics and POST /alertmanager on 127.0.0.1:<port>")
    topic_pattern: str = Field(r"^(fleet|crypto)\.", description="regular expression of the Kafka topics whose log-end offsets are exported")
    interval_s: float = Field(5.0, gt=0, description="how often the log-end offsets are read, s")
    alerts_topic: str = Field(topics.FLEET_ALERTS, description="Kafka topic the Alertmanager notifications go to as alert records (the notifier's)")
    mqtt_sys: bool = Field(True, description="subscribe to Mosquitto's $SYS topics")


def alert_records(notification: dict[str, Any], now_ms: int) -> list[dict[str, Any]]:
    """Alert records (the notifier's shape) of one Alertmanager webhook notification.

    ``alert_id`` is a hash of the rule's fingerprint and start, so Alertmanager's repeats of one
    firing are one incident; a resolved rule clears it."""
    out = []
    for a in notification.get("alerts", []):
        labels, notes = a.get("labels", {}), a.get("annotations", {})
        name = str(labels.get("alertname", "unknown"))
        incident = hashlib.sha256(f"{a.get('fingerprint', '')}|{a.get('startsAt', '')}".encode()).hexdigest()[:24]
        resolved = a.get("status") == "resolved"
        rec = {
            "alert_id": incident + ("/cleared" if resolved else ""), "incident_id": incident,
            "state": "cleared" if resolved else "raised",
            "vehicle_id": "ops", "fleet_id": "ops", "type": f"ops_{name}",
            "severity": str(labels.get("severity", "warning")),
            "ts_ms": now_ms, "message": str(notes.get("summary", name)),
            "labels": {k: str(v) for k, v in labels.items()},
            "logs_query": str(notes.get("logs", "")), "source": "prometheus",
        }
        out.append(rec)
    return out


class Exporter:
    """Reads Kafka offsets on a timer and Mosquitto's $SYS by subscription; forwards alerts."""

    def __init__(self, settings: OpsExporterSettings) -> None:
        self.settings = settings
        stack = load_stack_settings()
        self._kafka = stack.kafka_config()
        self._mqtt_url = stack.mqtt_url
        self._admin = AdminClient({**self._kafka, "log_level": 2})
        self._producer = Producer({**self._kafka, "log_level": 2, "enable.idempotence": "true"})
        self._pattern = re.compile(settings.topic_pattern)
        self._errors = 0
        self._forwarded = 0

    def read_offsets(self) -> int:
        """Set the log-end gauge of every matching partition; the number of partitions read."""
        meta = self._admin.list_topics(timeout=10)
        parts = [TopicPartition(t, p) for t, tm in meta.topics.items() if self._pattern.search(t) and not tm.error
                 for p in tm.partitions]
        if not parts:
            return 0
        futures = self._admin.list_offsets({tp: OffsetSpec.latest() for tp in parts}, request_timeout=10)  # type: ignore[no-untyped-call]
        n = 0
        for tp, fut in futures.items():
            try:
                LOG_END.labels(tp.topic, str(tp.partition)).set(fut.result(timeout=15).offset)
                n += 1
            except Exception:  # noqa: BLE001 - a deleted topic between listing and reading: skip it
                continue
        return n

    def offsets_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.read_offsets()
            except Exception as exc:  # noqa: BLE001 - Kafka away: the gauges keep their last values
                self._errors += 1
                SCRAPE_ERRORS.set(self._errors)
                log.warning("kafka_offsets_failed", error=str(exc)[:200])
            stop.wait(self.settings.interval_s)

    def start_mqtt(self) -> None:
        conn = MqttConnection.from_url(self._mqtt_url)
        client = make_client(conn, f"ticktrack-ops-exporter-{int(time.time())}")

        def on_message(_c: object, _u: object, msg: Any) -> None:
            if _NUMBER.match(msg.payload):
                MOSQUITTO.labels(msg.topic.removeprefix("$SYS/")).set(float(msg.payload))

        def on_connect(c: Any, *_args: object) -> None:
            c.subscribe("$SYS/#", qos=0)

        client.on_message = on_message
        client.on_connect = on_connect
        connect_client(client, conn, clean_start=True)
        client.loop_start()

    def forward(self, notification: dict[str, Any]) -> int:
        """Produce the alert records of one notification; returns how many (delivered when this returns)."""
        records = alert_records(notification, int(time.time() * 1000))
        for rec in records:
            self._producer.produce(self.settings.alerts_topic, json.dumps(rec).encode(), rec["vehicle_id"].encode())
            log.warning("ops_alert_forwarded", alert_id=rec["alert_id"], type=rec["type"], state=rec["state"], message=rec["message"])
        if self._producer.flush(15) != 0:
            raise RuntimeError("Kafka did not take the alert records within 15 s")
        self._forwarded += len(records)
        ALERTS_FORWARDED.set(self._forwarded)
        return len(records)


def _handler(exporter: Exporter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = generate_latest()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/alertmanager":
                self.send_error(404)
                return
            try:
                doc = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                n = exporter.forward(doc)
            except Exception as exc:  # noqa: BLE001 - Alertmanager retries on a 5xx
                log.error("ops_alert_not_forwarded", error=str(exc)[:300])
                self.send_error(500, str(exc)[:200])
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(json.dumps({"forwarded": n}).encode())

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            """Quiet: Prometheus scrapes every 5 s."""

    return Handler


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m jobs.ops_exporter", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    configure_logging(service="ops-exporter")
    settings = load_settings(OpsExporterSettings)
    exporter = Exporter(settings)
    stop = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", settings.exporter_port), _handler(exporter))
    threading.Thread(target=exporter.offsets_loop, args=(stop,), name="kafka-offsets", daemon=True).start()
    if settings.mqtt_sys:
        try:
            exporter.start_mqtt()
        except Exception as exc:  # noqa: BLE001 - the broker may come later; offsets and alerts still work
            log.warning("mqtt_sys_unavailable", error=str(exc)[:200])

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log.info("ops_exporter_started", port=settings.exporter_port, topics=settings.topic_pattern, alerts_topic=settings.alerts_topic)
    server.serve_forever()
    log.info("ops_exporter_stopped")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
