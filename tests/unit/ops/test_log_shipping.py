"""The log shipper never blocks or raises, keeps a bounded buffer, and names each line's origin."""

from __future__ import annotations

import logging
import time

from prometheus_client import REGISTRY

from settings.log_shipping import LogShipper, LogShippingSettings, ShippingHandler
from settings.origin import process_origin
from settings.stack import REPO_ROOT
from tests.support.private_stack import free_port


def test_origin_of_flows_and_commands(monkeypatch) -> None:
    monkeypatch.delenv("TICKTRACK_SERVICE", raising=False)
    monkeypatch.delenv("TICKTRACK_FLOW", raising=False)
    bytewax_run = "/x/.venv/lib/python3.11/site-packages/bytewax/run.py"
    assert process_origin([bytewax_run, "dataflows.fleet_analytics:build_flow()", "-w", "2"]) == ("flow", "fleet_analytics")
    assert process_origin([str(REPO_ROOT / "notifier" / "__main__.py")]) == ("notifier", None)
    assert process_origin([str(REPO_ROOT / "collectors" / "ccxt_collector.py")]) == ("collectors.ccxt_collector", None)
    assert process_origin(["/usr/bin/streamlit", "run"]) == ("streamlit", None)
    monkeypatch.setenv("TICKTRACK_SERVICE", "api")
    monkeypatch.setenv("TICKTRACK_FLOW", "f")
    assert process_origin([bytewax_run, "dataflows.fleet_store:build_flow()"]) == ("api", "f")


def test_store_down_never_blocks_and_keeps_a_bounded_buffer() -> None:
    settings = LogShippingSettings(url=f"http://127.0.0.1:{free_port()}", buffer_lines=1000, batch_lines=100,
                                   flush_interval_s=0.05, retry_s=30, timeout_s=0.5)  # one failed try, then it waits
    shipper = LogShipper(settings)
    started = time.perf_counter()
    for i in range(20_000):
        shipper.put(f'{{"event": "line {i}"}}')
    took = time.perf_counter() - started
    time.sleep(0.5)  # the thread tried (and failed) once meanwhile
    assert took < 1.0, f"20,000 lines queued in {took:.2f} s"
    assert shipper.sent == 0 and shipper.failures >= 1
    assert shipper.pending() == 1000, "the newest lines, no more than the buffer"
    assert shipper.pending() + shipper.dropped == 20_000, "each line is either kept or counted as dropped"
    shipper.close(timeout_s=0.5)


def test_handler_never_raises() -> None:
    class Broken(LogShipper):
        def put(self, line: str) -> None:
            raise RuntimeError("full disk")

    handler = ShippingHandler(Broken(LogShippingSettings(url=f"http://127.0.0.1:{free_port()}")))
    handler.emit(logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None))  # no exception


def test_counters_of_produced_records() -> None:
    from settings import metrics

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    flow = metrics.flow_label()
    before_dup = sample("ticktrack_reorder_total", flow=flow, kind="duplicate")
    before_dead = sample("ticktrack_dead_letters_total", flow=flow, reason="lat")
    metrics.count_produced("x.points", [b'late_fixes,stage=rules,vehicle_id=v reason="duplicate" 1', b"telemetry,vehicle_id=v a=1 1"])
    metrics.count_produced("x.deadletter", [b'{"reason": "lat: out of range"}', b"not json"])
    metrics.count_produced("x.alerts", [b'{"type": "overspeed"}'])
    assert sample("ticktrack_reorder_total", flow=flow, kind="duplicate") == before_dup + 1
    assert sample("ticktrack_dead_letters_total", flow=flow, reason="lat") == before_dead + 1
    assert sample("ticktrack_alerts_total", flow=flow, type="overspeed") >= 1
    assert metrics.reason_label("store: InvalidLine: empty") == "store"
