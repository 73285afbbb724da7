"""The end of both store flows: points to InfluxDB, everything that cannot be written to dead letters."""

from __future__ import annotations

from typing import TypeGuard, cast

import bytewax.operators as op
from bytewax.dataflow import Stream
from influxdb_client import Point

from contracts.deadletter import DeadLetter
from settings.stack import StackSettings
from sinks.influxdb import InfluxSink, Lines
from sinks.kafka import KafkaProducerSink, KafkaRecord


def _writable(item: Point | str | Lines | DeadLetter) -> TypeGuard[Point | str | Lines]:
    return not isinstance(item, DeadLetter)


def write_or_dead_letter(items: Stream[Point | str | Lines | DeadLetter], stack: StackSettings, bucket: str,
                         deadletter_topic: str) -> None:
    """Points, line-protocol lines and tuples of lines go to ``bucket``; dead letters, and the points InfluxDB
    refuses, to ``deadletter_topic``."""
    kafka = stack.kafka_config()
    split = op.branch("writable", items, _writable)
    dead_letters = cast("Stream[DeadLetter]", split.falses)  # the branch's type guard narrows only its trues
    op.output("deadletter_out", op.map("deadletter_record", dead_letters,
                                       lambda d: KafkaRecord(d.source_topic.encode(), d.to_json())),
              KafkaProducerSink(kafka, deadletter_topic))
    op.output("influx_out", split.trues, InfluxSink(stack.influx_url, stack.writer_token(), stack.influx_org, bucket,
                                                    kafka_config=kafka, deadletter_topic=deadletter_topic))
