"""The dashboard's view of ``fleet.config``: the shared publisher and reader (``access.fleet_config``) with a cache.

The records are read with ``access.fleet_config.latest_records`` and shared for a few seconds
(``cached_records``); ``publish`` is the API's publisher too, and clears that cache so the
admin page shows its own change on the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import streamlit as st

from access import fleet_config
from settings.stack import load_stack_settings
from settings.topics import FLEET_CONFIG


@st.cache_data(ttl=5.0, show_spinner=False)
def cached_records() -> dict[str, bytes | None]:
    """``latest_records`` of the stack's fleet.config, shared for a few seconds."""
    return fleet_config.latest_records(load_stack_settings().kafka_config())


def publish(records: Iterable[tuple[str, dict[str, Any] | None]], topic: str = FLEET_CONFIG,
            kafka_conf: dict[str, str] | None = None, timeout_s: float = 10.0) -> int:
    """``access.fleet_config.publish`` to the stack's Kafka; raises ``PublishError``; clears the cache."""
    sent = fleet_config.publish(records, kafka_conf if kafka_conf is not None else load_stack_settings().kafka_config(),
                                topic, timeout_s)
    cached_records.clear()
    return sent
