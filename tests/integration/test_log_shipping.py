"""Log lines of a real flow in a real (private) VictoriaLogs, and a log store outage that costs nothing.

A private VictoriaLogs (services/stack.sh up victorialogs, own var folder and port) takes the
ingest flow's lines: they are found with LogsQL within seconds, with service, flow, worker and
level. Then the log store is stopped: the flow keeps running and every message published during
the outage is on Kafka, exactly once; its lines stayed on stderr, and the flow says the store is
unreachable there. Restarted, the store receives the lines kept meanwhile.
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

from simulators.vehicles import fleet
from tests.support.private_stack import STACK, free_port
from tests.support.services import consume, kafka_topics, publish, require_stack, running_flow, unique

pytestmark = pytest.mark.integration

VEHICLES, FIXES = 5, 20


def _stack(var: Path, port: int, *args: str) -> None:
    env = {**os.environ, "TICKTRACK_VAR": str(var), "LOGS_PORT": str(port)}
    subprocess.run([str(STACK), *args, "victorialogs"], env=env, check=True, capture_output=True, timeout=600)


def logsql(port: int, query: str) -> list[dict]:
    """Rows of a LogsQL query over the last hour."""
    data = urllib.parse.urlencode({"query": query, "start": "1h"}).encode()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/select/logsql/query", data=data, timeout=10) as resp:
        return [json.loads(line) for line in resp.read().decode().splitlines() if line.strip()]


def wait_rows(port: int, query: str, count: int, timeout_s: float) -> tuple[list[dict], float]:
    start = time.monotonic()
    rows: list[dict] = []
    while time.monotonic() - start < timeout_s:
        rows = logsql(port, query)
        if len(rows) >= count:
            break
        time.sleep(0.25)
    return rows, time.monotonic() - start


def fixes(run: str, start_ms: int) -> list[tuple[str, bytes]]:
    sims = fleet(VEHICLES, seed=3, prefix=run)
    return [(f"fleet/{v.vehicle_id}/telemetry", json.dumps(v.step(1.0, start_ms + k * 1000)).encode())
            for k in range(FIXES) for v in sims]


def test_flow_lines_in_victorialogs_and_an_outage_loses_nothing(tmp_path: Path) -> None:
    s = require_stack()
    var, port = tmp_path / "var", free_port()
    _stack(var, port, "up")
    run = unique("logs")
    telemetry, dead = f"{run}.telemetry", f"{run}.deadletter"
    env = {"INGEST_TELEMETRY_TOPIC": telemetry, "INGEST_DEADLETTER_TOPIC": dead, "INGEST_MQTT_GROUP": run,
           "INGEST_MQTT_CLIENT_ID_PREFIX": run, "LOGS_SHIP": "true", "LOGS_URL": f"http://127.0.0.1:{port}",
           "LOGS_FLUSH_INTERVAL_S": "0.5", "LOGS_RETRY_S": "1"}
    query = "service:flow flow:fleet_ingest _msg:mqtt_subscribed"

    def ours(msgs: list) -> list:
        return [m for m in msgs if run in m.key().decode()]

    try:
        with kafka_topics(s, telemetry, dead):
            with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2) as ingest:
                ingest.wait_for_log('"event": "mqtt_subscribed"', count=2)
                rows, took = wait_rows(port, query, 2, 10)
                assert len(rows) == 2, rows
                assert took < 5, f"searchable within seconds, took {took:.1f} s"
                assert all(r["worker"].startswith("0.") for r in rows) and {r["level"] for r in rows} == {"info"}
                first = fixes(run + "a", int(time.time() * 1000) - 60_000)
                publish(s.mqtt_url, first)
                assert len(ours(consume(s, telemetry, lambda m: len(ours(m)) >= len(first)))) == len(first)

            _stack(var, port, "down")  # the log store goes away; the flow starts (and logs) without it
            with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2) as ingest:
                ingest.wait_for_log('"event": "mqtt_subscribed"', count=2)
                ingest.wait_for_log('"event": "log_store_unreachable"', count=1, timeout_s=15)
                second = fixes(run + "b", int(time.time() * 1000) - 30_000)
                publish(s.mqtt_url, second)
                got = ours(consume(s, telemetry, lambda m: len(ours(m)) >= len(first) + len(second)))
                assert len(got) == len(first) + len(second) == 2 * VEHICLES * FIXES, "every message, exactly once"
                assert ingest.proc.poll() is None, "the flow keeps running without its log store"

                _stack(var, port, "up")  # back: the lines kept in the bounded buffer arrive
                ingest.wait_for_log('"event": "log_store_recovered"', count=1, timeout_s=30)
                rows, _ = wait_rows(port, query, 4, 10)
                assert len(rows) == 4, "the outage's lines were kept and shipped"
    finally:
        _stack(var, port, "down")
