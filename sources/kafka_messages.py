"""A Kafka input of a flow, typed as what its steps receive: messages, never errors.

Bytewax types ``KafkaSource``'s items as ``KafkaSourceMessage | KafkaError`` because a source
built with ``raise_on_errors=False`` passes consumer errors downstream. The flows here build it
with ``raise_on_errors=True`` (bytewax's default): a consumer error stops the read with an
exception, so every item is a message. Building the source here says so once, for the type
checker too, instead of each flow handling an error item that never comes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias, cast

from bytewax.connectors.kafka import KafkaSource, KafkaSourceMessage
from bytewax.inputs import FixedPartitionedSource
from confluent_kafka import OFFSET_BEGINNING

KafkaMessage: TypeAlias = KafkaSourceMessage[bytes | None, bytes | None]
KAFKA_BATCH = 1000  # messages per batch at most (KafkaSource's default batch_size)


def kafka_messages(brokers: Iterable[str], topics: Iterable[str], *, tail: bool = True, starting_offset: int = OFFSET_BEGINNING,
                   add_config: dict[str, str] | None = None) -> FixedPartitionedSource[KafkaMessage, int | None]:
    """``KafkaSource`` over ``topics`` that raises on consumer errors (its items are messages only)."""
    source = KafkaSource(brokers, topics, tail=tail, starting_offset=starting_offset, add_config=add_config, raise_on_errors=True,
                         batch_size=KAFKA_BATCH)
    return cast("FixedPartitionedSource[KafkaMessage, int | None]", source)
