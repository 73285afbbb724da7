"""InfluxDB point of the exchange health flow (bucket ``crypto``): ``exchange_health``.

Written through ``crypto.points`` by the crypto store like every crypto point. Tag ``exchange``;
the point time is the window's end, so a replay writes the same points (idempotent). Counts are
integers, figures floats, ``health`` / ``reason`` / ``state`` / ``last_error`` / ``exclusions``
strings; a figure not defined in a window (no latency without quotes) is left out.
docs/exchange-health.md and docs/measurements.md list them.
"""

from __future__ import annotations

from influxdb_client import Point

from contracts.exchange_health import ExchangeHealth
from sinks.influx_points.fields import at_ms, set_fields

EXCHANGE_HEALTH = "exchange_health"
INT_FIELDS = frozenset({"window_start_ms", "quotes", "symbols_listed", "symbols_fresh", "polls", "errors", "rate_limits",
                        "timeouts", "reconnects", "excluded_outlier", "excluded_stale"})


def health_point(h: ExchangeHealth) -> Point:
    """``exchange_health``: one exchange over one window."""
    fields = h.to_dict()
    exchange, end = fields.pop("exchange"), fields.pop("window_end_ms")
    if not fields["reason"]:
        fields["reason"] = ""
    p = Point(EXCHANGE_HEALTH).tag("exchange", exchange)
    return at_ms(set_fields(p, INT_FIELDS, **fields), end)
