"""Prometheus over a real flow: counters, every target up, lag while it is stopped, its alert rule.

A private Prometheus, Alertmanager and ops exporter (services/stack.sh, own var folder and ports)
watch the store flow (``METRICS_PORT``, target file in the private var). 200 points and 10 empty
records in: Prometheus counts exactly 210 in and 10 dead, every target is up, the lag is 0. The
flow stopped and 300 more records produced: the lag reads exactly 300, the flow-down rule fires
and Alertmanager's notification reaches the alerts topic as an alert record, which the notifier
delivers to the webhook of the recipients of all alerts. Restarted, the flow drains the lag to 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Producer

from tests.integration.test_notifier import Webhooks, notifier
from tests.support.private_stack import STACK, free_port
from tests.support.services import consume, kafka_topics, require_stack, running_flow, store_flow_topics, unique, write_registry

pytestmark = pytest.mark.integration


def promql(port: int, query: str) -> list[dict]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)["data"]["result"]


def value(port: int, query: str) -> float | None:
    rows = promql(port, query)
    return float(rows[0]["value"][1]) if rows else None


def wait_value(port: int, query: str, want: float, timeout_s: float = 60) -> float | None:
    got = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = value(port, query)
        if got == want:
            return got
        time.sleep(1)
    return got


def wait_jobs_up(port: int, want: set[str], timeout_s: float = 60) -> set[str]:
    """The jobs with a target up, once they are ``want`` or at the deadline."""
    jobs: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = {r["metric"]["job"] for r in promql(port, "up == 1")}
        if jobs == want:
            break
        time.sleep(1)
    return jobs


def produce(s, topic: str, values: list[bytes]) -> None:
    p = Producer({**s.kafka_config(), "log_level": 2})
    for i, v in enumerate(values):
        p.produce(topic, v, str(i).encode())
    assert p.flush(30) == 0


def test_counters_targets_lag_and_flow_down_alert(tmp_path: Path) -> None:
    s = require_stack()
    run = unique("ops")
    var = tmp_path / "var"
    prom, am, ops, mport = free_port(), free_port(), free_port(), free_port()
    telemetry, dead, alerts = f"{run}.telemetry", f"{run}.deadletter", f"{run}.opsalerts"
    stack_env = {**os.environ, "TICKTRACK_VAR": str(var), "PROMETHEUS_PORT": str(prom), "ALERTMANAGER_PORT": str(am),
                 "OPS_EXPORTER_PORT": str(ops), "OPS_TOPIC_PATTERN": f"^{run}\\.", "OPS_ALERTS_TOPIC": alerts, "OPS_INTERVAL_S": "1"}
    services = ["ops-exporter", "alertmanager", "prometheus"]
    registry = write_registry(tmp_path / "vehicles.json", {f"{run}-f": [f"{run}-v"]})
    with kafka_topics(s, telemetry, dead, alerts), store_flow_topics(s, run, registry) as store_env:
        points = store_env["STORE_POINTS_TOPIC"]
        env = {**store_env, "STORE_TELEMETRY_TOPIC": telemetry, "STORE_DEADLETTER_TOPIC": dead,
               "METRICS_PORT": str(mport), "METRICS_TARGETS_DIR": str(var / "prometheus" / "targets")}
        try:
            subprocess.run([str(STACK), "up", *services], env=stack_env, check=True, capture_output=True, timeout=300)
            now_ms = int(time.time() * 1000)
            lines = [f"ops_test,vehicle_id={run}-v value={i}i {now_ms - 1000 * i}".encode() for i in range(200)]
            with running_flow("dataflows.fleet_store:build_flow()", env):
                produce(s, points, lines + [b""] * 10)
                flow = 'flow="fleet_store"'
                assert wait_value(prom, f'sum(ticktrack_messages_total{{{flow},outcome="in"}})', 210) == 210
                assert wait_value(prom, f'sum(ticktrack_messages_total{{{flow},outcome="dead"}})', 10) == 10
                assert wait_value(prom, f'sum(ticktrack_dead_letters_total{{{flow},reason="store"}})', 10) == 10
                assert wait_value(prom, f'sum(ticktrack_messages_total{{{flow},outcome="out",step=~"influxdb:.*"}})', 200) == 200
                assert wait_value(prom, f'sum(ticktrack:consumer_lag{{{flow}}})', 0) == 0
                # every target scraped at least once and up: a target's first scrape can still be
                # running (up to the 5 s timeout on a loaded machine), so wait for the whole set
                want = {"ticktrack", "ops-exporter", "influxdb", "victorialogs", "prometheus"}
                assert wait_jobs_up(prom, want) == want, promql(prom, "up")
                assert value(prom, "count(up == 0) or vector(0)") == 0, promql(prom, "up")

            produce(s, points, (lines * 2)[:300])  # 300 while the flow is down
            assert wait_value(prom, f'sum(ticktrack:consumer_lag{{{flow}}})', 300) == 300, "lag while stopped"
            fired = consume(s, alerts, lambda m: any(json.loads(x.value())["type"] == "ops_TicktrackFlowDown" for x in m),
                            timeout_s=90, settle_s=0)
            downs = [json.loads(m.value()) for m in fired if json.loads(m.value())["type"] == "ops_TicktrackFlowDown"]
            assert downs and downs[0]["state"] == "raised" and downs[0]["labels"]["flow"] == "fleet_store", downs
            assert downs[0]["vehicle_id"] == "ops" and downs[0]["alert_id"] and 'flow:"fleet_store"' in downs[0]["logs_query"]

            # the notifier delivers it to the recipients of all alerts, like any alert
            with Webhooks() as hooks:
                recipients = tmp_path / "recipients.json"
                recipients.write_text(json.dumps({"recipients": {"ops-desk": {"webhooks": [f"{hooks.url}/ops"]}}, "all": ["ops-desk"]}))
                with notifier({"NOTIFIER_TOPIC": alerts, "NOTIFIER_GROUP_ID": run, "NOTIFIER_RECIPIENTS_FILE": str(recipients),
                               "NOTIFIER_DELIVERIES_DB": str(tmp_path / "deliveries.sqlite"), "NOTIFIER_COMMIT_INTERVAL_S": "0.2"}):
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and downs[0]["alert_id"] not in hooks.ids("/ops"):
                        time.sleep(0.3)
                assert downs[0]["alert_id"] in hooks.ids("/ops"), hooks.received

            # restarted with Bytewax's own API server on the same port: its per-step metrics come along
            bytewax = {"BYTEWAX_DATAFLOW_API_ENABLED": "true", "BYTEWAX_DATAFLOW_API_PORT": str(mport),
                       "BYTEWAX_DATAFLOW_API_CACHE_PATH": str(tmp_path)}  # its dataflow.json, else in the checkout
            with running_flow("dataflows.fleet_store:build_flow()", {**env, **bytewax}):
                assert wait_value(prom, f'sum(ticktrack:consumer_lag{{{flow}}})', 0, timeout_s=60) == 0, "drained after restart"
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and not promql(prom, f'bytewax_item_out_count_total{{{flow}}}'):
                    time.sleep(1)
                steps = {r["metric"]["step_id"] for r in promql(prom, f'bytewax_item_out_count_total{{{flow}}}')}
                assert any("kafka_in" in step for step in steps), steps
        finally:
            subprocess.run([str(STACK), "down", *services], env=stack_env, capture_output=True, timeout=120)
