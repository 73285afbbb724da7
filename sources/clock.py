"""A wall-clock tick as a Bytewax input: one partition, so exactly one worker emits it.

Rules that must fire when nothing arrives (device offline, a trip that ends because the
vehicle went quiet, fixes waiting out the allowed lateness) are driven by these ticks.
"""

from __future__ import annotations

import time
from datetime import timedelta

from bytewax.inputs import SimplePollingSource


class ClockSource(SimplePollingSource[int]):
    """Emits the current time in epoch milliseconds every ``interval``."""

    def __init__(self, interval: timedelta) -> None:
        super().__init__(interval)

    def next_item(self) -> int:
        return int(time.time() * 1000)
