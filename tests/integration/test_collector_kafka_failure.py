"""A Kafka delivery failure stops the collector loudly: exit code 1 with the reason, not a
collector that keeps polling exchanges while its quotes are lost.

The failure is a real one: the test's tickers topic takes no record batch over 100 bytes
(``max.message.bytes``), so the broker refuses every quote with ``MSG_SIZE_TOO_LARGE``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from settings.stack import REPO_ROOT
from tests.support.services import kafka_topics, read_to_end, require_stack, unique

pytestmark = pytest.mark.integration
RUN_FOR_S = 120  # the collector would run this long; it must stop on the failure long before


def test_refused_delivery_stops_the_collector_with_the_reason() -> None:
    s = require_stack()
    run = unique("collector-fail")
    tickers, dead = f"{run}.tickers", f"{run}.deadletter"
    with kafka_topics(s, tickers, config={"max.message.bytes": "100"}), kafka_topics(s, dead):
        done = subprocess.run(
            [sys.executable, "-m", "collectors.ccxt_collector", "--simulated", "yes", "--out", "kafka",
             "--exchanges", "binance,kraken", "--symbols", "BTC/USDT", "--poll-interval", "0.5",
             "--duration", str(RUN_FOR_S), "--tickers-topic", tickers, "--deadletter-topic", dead],
            cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=RUN_FOR_S - 30)
        log = done.stdout + done.stderr
        assert done.returncode == 1, log[-3000:]
        assert '"event": "collector stopped: Kafka did not take its quotes"' in log, log[-3000:]
        assert "MSG_SIZE_TOO_LARGE" in log or "too large" in log.lower(), log[-3000:]
        assert read_to_end(s, tickers) == []  # nothing got through
