"""The sinks against the real Kafka and InfluxDB: what the server refuses for good becomes a
dead letter with the server's reason, everything else is written, and nothing raises.

- Kafka: a topic created with a small ``max.message.bytes``; one record over it among good
  ones (Kafka refuses the whole batch it is in, so the sink must find the one record).
- InfluxDB: a throwaway bucket with a 1-day retention; points older than that and one with a
  field-type conflict among good ones (InfluxDB answers 422 for the chunk).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time

import pytest
from influxdb_client import Point, WritePrecision

from sinks.influxdb import InfluxSink
from sinks.kafka import KafkaDeliveryError, KafkaProducerSink, KafkaRecord
from tests.support.buckets import temp_bucket
from tests.support.services import consume, influx_query, kafka_topics, read_to_end, require_stack, unique

pytestmark = pytest.mark.integration
TOPIC_LIMIT = 10_000


def test_kafka_sink_dead_letters_a_record_over_the_topics_limit() -> None:
    s = require_stack()
    run = unique("ksr")
    topic, dl = f"{run}.small", f"{run}.dl"
    big = os.urandom(50_000)  # incompressible: lz4 cannot bring it under the limit
    items = [KafkaRecord(f"k{i}".encode(), big if i == 7 else f"v{i}".encode()) for i in range(20)]
    with kafka_topics(s, topic, partitions=1, config={"max.message.bytes": str(TOPIC_LIMIT)}), kafka_topics(s, dl, partitions=1):
        sink = KafkaProducerSink(s.kafka_config(), topic, deadletter_topic=dl).build("out", 0, 1)
        sink.write_batch(items)  # must not raise
        sink.close()
        got = consume(s, topic, lambda m: len(m) >= 19, timeout_s=30)
        letters = consume(s, dl, lambda m: len(m) >= 1, timeout_s=30)
    assert [(m.key(), m.value()) for m in got] == [(r.key, r.value) for r in items if r.value is not big]
    assert len(letters) == 1 and letters[0].key() == b"k7"
    d = json.loads(letters[0].value())
    assert d["reason"] == f"kafka refused the record for {topic}: MSG_SIZE_TOO_LARGE: Broker: Message size too large"
    assert (d["source_topic"], d["payload_bytes"], d["payload_truncated"]) == (f"kafka:{topic}", 50_000, True)
    assert d["payload_sha256"] == hashlib.sha256(big).hexdigest() and d["payload_encoding"] == "base64"


def test_kafka_sink_without_a_dead_letter_topic_still_raises_on_a_refusal() -> None:
    s = require_stack()
    topic = unique("ksr") + ".small"
    with kafka_topics(s, topic, partitions=1, config={"max.message.bytes": str(TOPIC_LIMIT)}):
        sink = KafkaProducerSink(s.kafka_config(), topic).build("out", 0, 1)
        with pytest.raises(KafkaDeliveryError, match="MSG_SIZE_TOO_LARGE"):
            sink.write_batch([KafkaRecord(b"k", os.urandom(50_000))])
        sink.close()


def test_kafka_sink_dead_letters_records_for_a_topic_that_does_not_exist() -> None:
    s = require_stack()
    run = unique("ksr")
    missing, dl = f"{run}.missing", f"{run}.dl"
    with kafka_topics(s, dl, partitions=1):
        config = {**s.kafka_config(), "topic.metadata.propagation.max.ms": "2000"}
        sink = KafkaProducerSink(config, missing, deadletter_topic=dl).build("out", 0, 1)
        sink.write_batch([KafkaRecord(b"a", b"1"), KafkaRecord(b"b", b"2")])
        sink.close()
        letters = consume(s, dl, lambda m: len(m) >= 2, timeout_s=30)
    assert sorted((m.key(), json.loads(m.value())["payload"]) for m in letters) == [(b"a", "1"), (b"b", "2")]
    assert {json.loads(m.value())["reason"] for m in letters} == {
        f"kafka refused the record for {missing}: _UNKNOWN_TOPIC: Unable to produce message: Local: Unknown topic"}


def test_influx_sink_dead_letters_exactly_the_points_influxdb_refuses() -> None:
    s = require_stack()
    run = unique("isr")
    dl = f"{run}.dl"
    now = int(time.time() * 1000)
    old_ms = now - 2 * 86_400_000  # the bucket keeps 1 day

    def point(i: int, ts: int, value: object) -> Point | str:
        if i % 2:  # half as line protocol, as the store flows read it from Kafka
            v = f'"{value}"' if isinstance(value, str) else f"{float(value)!r}"  # type: ignore[arg-type]
            return f"poison,run={run},i={i} v={v} {ts}"
        return Point("poison").tag("run", run).tag("i", str(i)).field("v", value).time(ts, WritePrecision.MS)

    first = [point(i, now - i * 1000, float(i)) for i in range(10)]  # v is a float in this shard from now on
    good = [point(i, now - i * 1000, float(i)) for i in range(10, 20)]
    old = [point(i, old_ms - i, float(i)) for i in (20, 21, 22)]
    conflict = [point(23, now - 500, "text")]
    second = good[:3] + old[:1] + good[3:6] + conflict + old[1:] + good[6:]
    with kafka_topics(s, dl, partitions=1), temp_bucket(s, run, retention_s=86_400) as bucket:
        sink = InfluxSink(s.influx_url, s.influx_token, s.influx_org, bucket, chunk_size=5000,
                          kafka_config=s.kafka_config(), deadletter_topic=dl).build("out", 0, 1)
        sink.write_batch(first)
        sink.write_batch(second)  # must not raise; dead letters are in Kafka when it returns
        sink.close()
        letters = read_to_end(s, dl)
        rows = influx_query(s, f'from(bucket: "{bucket}") |> range(start: -3d) |> filter(fn: (r) => r._measurement == "poison")')
    assert sorted(int(r["i"]) for r in rows) == list(range(20)), "exactly the good points are stored"
    by_i = {}
    for m in letters:
        d = json.loads(m.value())
        by_i[int(re.search(r",i=(\d+)[, ]", d["payload"]).group(1))] = d  # type: ignore[union-attr]
        assert m.key() == f"influxdb:{bucket}".encode() and d["source_topic"] == f"influxdb:{bucket}"
    print("InfluxDB refusals:", {i: d["reason"] for i, d in sorted(by_i.items())})
    assert sorted(by_i) == [20, 21, 22, 23] and len(letters) == 4, "exactly the refused points are dead letters"
    for i in (20, 21, 22):
        assert by_i[i]["reason"].startswith("influxdb 422: ") and "outside retention policy" in by_i[i]["reason"], by_i[i]
    assert by_i[23]["reason"].startswith("influxdb 422: ") and "field type conflict" in by_i[23]["reason"], by_i[23]
    assert by_i[23]["payload"] == conflict[0] and by_i[21]["payload"] == old[1]  # the line protocol as written


def test_influx_sink_without_a_dead_letter_topic_logs_and_goes_on() -> None:
    s = require_stack()
    run = unique("isr")
    now = int(time.time() * 1000)
    with temp_bucket(s, run, retention_s=86_400) as bucket:
        sink = InfluxSink(s.influx_url, s.influx_token, s.influx_org, bucket).build("out", 0, 1)
        sink.write_batch([f"poison,i=0 v=1.0 {now}", f"poison,i=1 v=1.0 {now - 3 * 86_400_000}", f"poison,i=2 v=2.0 {now}"])
        sink.close()
        rows = influx_query(s, f'from(bucket: "{bucket}") |> range(start: -3d)')
    assert sorted(int(r["i"]) for r in rows) == [0, 2]
