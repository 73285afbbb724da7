"""The bare Bytewax ceiling of the processing benchmark: what any Bytewax flow on this topic pays.

KafkaSource -> the analytics flow's own Avro decode (``decode_fix``) -> key by vehicle ->
a trivial stateful count -> discard. The only output is one record per marker vehicle
(``bench/peers/workload.py``), so the bench can tell exactly when all input went through.
ticktrack's analytics flow cannot be faster than this on the same machine; the gap is the
cost of the rules, the registry, windows and the Kafka / InfluxDB writes.

    BENCH_CEILING_IN=<topic> BENCH_CEILING_OUT=<topic> python -m bytewax.run "bench.peers.bytewax_ceiling:build_flow()"
"""

from __future__ import annotations

import os

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaSource
from bytewax.dataflow import Dataflow
from confluent_kafka import OFFSET_BEGINNING

from bench.peers.workload import marker_kind
from dataflows.fleet_analytics import decode_fix
from settings.stack import load_stack_settings
from sinks.kafka import KafkaProducerSink, KafkaRecord


def count(seen: int | None, _item: object) -> tuple[int, int]:
    n = (seen or 0) + 1
    return n, n


def build_flow() -> Dataflow:
    kafka = load_stack_settings().kafka_config()
    flow = Dataflow("bytewax_ceiling")
    source = KafkaSource([kafka["bootstrap.servers"]], [os.environ["BENCH_CEILING_IN"]],
                         starting_offset=OFFSET_BEGINNING, add_config=kafka)
    fixes = op.map("decode", op.input("kafka_in", flow, source), decode_fix)
    counts = op.stateful_map("count", op.key_on("by_vehicle", fixes, lambda item: item[0].vehicle_id), count)
    # a marker's second fix is the one that releases the first in the rules peers: emit there too
    markers = op.filter("markers", counts, lambda kv: kv[1] == 2 and marker_kind(kv[0]) is not None)
    op.output("marker_out", op.map("record", markers, lambda kv: KafkaRecord(kv[0].encode(), str(kv[1]).encode())),
              KafkaProducerSink(kafka, os.environ["BENCH_CEILING_OUT"]))
    return flow
