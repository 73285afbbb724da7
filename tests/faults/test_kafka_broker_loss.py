"""A 3-broker Kafka cluster (replication 3, min in-sync 2, acks=all): kill -9 one broker
while telemetry streams through ingest and store; nothing is lost and the flows continue."""

from __future__ import annotations

import json
import threading
import time

import pytest

from contracts.avro import decode
from settings.stack import StackSettings, load_stack_settings
from simulators.vehicles import fleet
from tests.support.private_stack import PrivateStack
from tests.support.services import (
    consume,
    influx_query,
    kafka_topics,
    publish,
    require_stack,
    running_flow,
    store_flow_topics,
    unique,
    write_registry,
)

pytestmark = pytest.mark.faults
VEHICLES, FIXES = 10, 150  # 1,500 fixes published over about 15 s


def test_losing_one_of_three_brokers_loses_nothing(tmp_path) -> None:
    shared = require_stack()
    cluster = PrivateStack.create(tmp_path / "var", kafka_nodes=3)
    cluster.up("kafka-cluster")
    s: StackSettings = load_stack_settings().model_copy(update={"kafka_bootstrap": cluster.kafka_bootstrap})
    run = unique("k3")
    topic, dl = f"{run}.telemetry", f"{run}.dl"
    sims = fleet(VEHICLES, seed=11, prefix=run)
    t0 = int(time.time() * 1000) - 3_600_000
    batches = [[(f"fleet/{v.vehicle_id}/telemetry", json.dumps(v.step(1.0, t0 + k * 1000)).encode()) for v in sims]
               for k in range(FIXES)]
    env = {"KAFKA_BOOTSTRAP": cluster.kafka_bootstrap, "INGEST_TELEMETRY_TOPIC": topic, "INGEST_DEADLETTER_TOPIC": dl,
           "INGEST_MQTT_GROUP": run, "INGEST_MQTT_CLIENT_ID_PREFIX": run, "STORE_TELEMETRY_TOPIC": topic}
    try:
        registry = write_registry(tmp_path / "vehicles.json", {run: [v.vehicle_id for v in sims]})
        with kafka_topics(s, topic, dl, partitions=6, replication=3, config={"min.insync.replicas": "2"}), \
                store_flow_topics(s, run, registry) as store_env:
            with running_flow("dataflows.fleet_ingest:build_flow()", env, workers=2) as ingest, \
                 running_flow("dataflows.fleet_store:build_flow()", {**env, **store_env}):
                ingest.wait_for_log('"event": "mqtt_subscribed"', count=2)

                def stream() -> None:
                    for b in batches:
                        publish(shared.mqtt_url, b)
                        time.sleep(0.1)

                publisher = threading.Thread(target=stream)
                publisher.start()
                time.sleep(5)
                cluster.kill9("kafka-2")  # a broker dies mid-stream: leaders move, acks=all still needs 2 of 3
                publisher.join()
                # The ingest flow hears every publisher on the shared broker: count only this run's vehicles.
                def ours(msgs: list) -> list:
                    return [m for m in msgs if m.key().decode().startswith(run)]

                records = ours(consume(s, topic, lambda m: len(ours(m)) >= VEHICLES * FIXES, timeout_s=120, settle_s=3))
                keys = [(r["vehicle_id"], r["ts_ms"]) for r in (decode("telemetry", m.value()) for m in records)]
                assert len(set(keys)) == VEHICLES * FIXES, "every fix reached Kafka"
                assert len(keys) == len(set(keys)), "idempotent producer: no duplicates"

                deadline, rows = time.monotonic() + 90, []
                while time.monotonic() < deadline:
                    rows = influx_query(shared, f'''import "strings"
                        from(bucket: "{shared.influx_bucket_fleet}") |> range(start: -1d)
                          |> filter(fn: (r) => r._measurement == "telemetry" and r._field == "speed_kmh")
                          |> filter(fn: (r) => strings.hasPrefix(v: r.vehicle_id, prefix: "{run}")) |> group() |> count()''')
                    if rows and rows[0]["_value"] >= VEHICLES * FIXES:
                        break
                    time.sleep(2)
                assert rows[0]["_value"] == VEHICLES * FIXES, "the store flow continued past the broker loss"
    finally:
        cluster.down("kafka-cluster")
