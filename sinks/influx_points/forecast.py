"""InfluxDB points of the crypto forecaster (bucket ``crypto``): ``forecasts`` and ``forecast_skill``.

Both go through ``crypto.points`` to the crypto store like every crypto point. Tags are what the
dashboard groups by (symbol, horizon, model); the point time of a forecast is when it was made, of
a skill record the bar that last changed it, so a replay writes the same points (idempotent).
``None`` figures (not defined yet) are left out: InfluxDB has no null. docs/forecasts.md lists them.
"""

from __future__ import annotations

from influxdb_client import Point, WritePrecision

from contracts.forecast import ForecastRecord, SkillRecord
from sinks.influx_points.fields import set_fields

FORECASTS = "forecasts"
FORECAST_SKILL = "forecast_skill"
INT_FIELDS = frozenset({"target_time_ms", "n", "directional_n", "hits"})


def forecast_point(f: ForecastRecord) -> Point:
    """``forecasts``: one model's forecast of one symbol's mid ``horizon`` minutes after ``made_at_ms``."""
    p: Point = Point(FORECASTS).tag("symbol", f.symbol).tag("horizon", f"{f.horizon_min}m").tag("model", f.model)
    set_fields(p, INT_FIELDS, target_time_ms=f.target_time_ms, base_price=f.base_price,
                      predicted_return=f.predicted_return, predicted_price=f.predicted_price,
                      lower_return=f.lower_return, upper_return=f.upper_return, lower_price=f.lower_price,
                      upper_price=f.upper_price, interval_level=f.interval_level)
    p.time(f.made_at_ms, WritePrecision.MS)
    return p


def skill_point(s: SkillRecord) -> Point:
    """``forecast_skill``: the walk-forward skill of one model at one horizon as of ``ts``."""
    p: Point = Point(FORECAST_SKILL).tag("symbol", s.symbol).tag("horizon", f"{s.horizon_min}m").tag("model", s.model)
    set_fields(p, INT_FIELDS, n=s.n, mae=s.mae, mae_random_walk=s.mae_random_walk, mase=s.mase,
                      directional_n=s.directional_n, hits=s.hits, hit_rate=s.hit_rate, binomial_p=s.binomial_p,
                      dm_stat=s.dm_stat, dm_p_better=s.dm_p_better, dm_p_worse=s.dm_p_worse, coverage=s.coverage,
                      verdict=s.verdict)
    p.time(s.ts, WritePrecision.MS)
    return p
