"""Delivery channels. A channel sends one alert to one target and classifies the result;
it never raises, so one broken receiver is data for the retry policy, not a crash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from notifier.recipients import Delivery
from notifier.retry import AttemptResult


class Channel(Protocol):
    """What the dispatcher needs from a channel; called from worker threads."""

    name: str

    def send(self, alert: Mapping[str, Any], delivery: Delivery, delivery_id: str) -> AttemptResult: ...
