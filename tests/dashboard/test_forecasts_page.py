"""The Forecasts page for the trader and the admin: the skill table (learner next to the random walk,
with the verdict) equals the pure forecaster's final skill, and no cell reads nan or None.

Seeds its own symbol in the session's crypto bucket: 90 minutes of a random walk's minute closes
run through the real forecaster (rules.crypto.forecast), written as the flow's points."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from influxdb_client import Point

from access.forecast_reads import NA, TABLE_COLUMNS, skill_table
from contracts.forecast import ForecastRecord, SkillRecord
from contracts.spread import SpreadRecord
from rules.crypto.forecast import Forecaster
from rules.crypto.forecast_metrics import BASELINE, SKILL
from settings.stack import load_stack_settings
from sinks.influx_points.crypto import spread_point
from sinks.influx_points.forecast import forecast_point, skill_point
from tests.dashboard.conftest import World, open_page, plotly_specs, sign_in
from tests.dashboard.seed import delete_where, new_run_id, operator_client, write

pytestmark = pytest.mark.integration

MINUTES = 90


@pytest.fixture(scope="module")
def seeded(world: World) -> Iterator[tuple[str, dict[tuple[str, str], SkillRecord], int]]:
    """(symbol, final skill per (horizon, model), forecasts written)."""
    s = load_stack_settings()
    client = operator_client(s)
    symbol = f"F{new_run_id()}/USDT"
    end_bar = int(datetime.now(UTC).timestamp() // 60) - 1
    rnd = random.Random(11)
    price, closes = 100.0, []
    for _ in range(MINUTES):
        price *= math.exp(rnd.gauss(0, 5e-4))
        closes.append(price)
    fc = Forecaster()
    st = fc.new_state(symbol)
    out: list[ForecastRecord | SkillRecord] = []
    points: list[Point] = []
    for i, c in enumerate(closes):
        bar = end_bar - MINUTES + 1 + i
        out += fc.add_bar(st, bar, c)
        # the spread at the end of the minute (a whole record: the prices page reads the same points)
        points.append(spread_point(SpreadRecord(symbol, (bar + 1) * 60_000 - 1, c - 0.01, "exa", c + 0.01, "exb", c, 0.02,
                                                0.02 / c * 100, -0.4, 2, [])))
    points += [forecast_point(o) if isinstance(o, ForecastRecord) else skill_point(o) for o in out]
    write(client, s.influx_bucket_crypto, s.influx_org, points)
    final = {(f"{r.horizon_min}m", r.model): r for r in out if isinstance(r, SkillRecord)}
    try:
        yield symbol, final, sum(isinstance(o, ForecastRecord) for o in out)
    finally:
        delete_where(client, s.influx_bucket_crypto, s.influx_org, f'symbol="{symbol}"')
        client.close()


@pytest.mark.parametrize("role", ["trader", "admin"])
def test_skill_table_with_verdicts(world: World, seeded: tuple[str, dict, int], role: str) -> None:
    symbol, final, _ = seeded
    at = open_page(sign_in(world, role), "pages/forecasts.py")
    at.selectbox(key="forecasts_symbol").set_value(symbol).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert list(table.columns) == TABLE_COLUMNS
    assert len(table) == 9  # 3 horizons x (learner, drift, random walk)
    # learner, drift, then the random walk, per horizon
    assert list(zip(table["Horizon"], table["Model"], strict=True)) == [
        (h, m) for h in ("1m", "5m", "15m") for m in ("river_bayes_linear", "drift", "random_walk")]
    for row in table.itertuples(index=False):
        want = final[(row.Horizon, row.Model)]
        assert row.Scored == str(want.n) and row.Verdict == want.verdict
        assert row.MASE == (NA if want.mase is None else f"{want.mase:.4f}")
        assert row[TABLE_COLUMNS.index("DM p (better)")] == (NA if want.dm_p_better is None else f"{want.dm_p_better:.3g}")
    assert all("nan" not in str(v).lower() and "none" not in str(v).lower() for v in table.to_numpy().ravel())
    rw = table[table["Model"] == "random_walk"]
    assert set(rw["Verdict"]) == {BASELINE} and set(rw["MASE"]) == {"1.0000"} and set(rw["Direction right"]) == {NA}
    # a random walk: no learner row may claim skill
    assert not any(v.startswith(SKILL) for v in table["Verdict"])
    assert any(m.value.startswith("0 of 3 learner rows") for m in at.markdown)


def test_forecast_chart_shows_learner_naive_and_mid(world: World, seeded: tuple[str, dict, int]) -> None:
    symbol, _, written = seeded
    at = open_page(sign_in(world, "trader"), "pages/forecasts.py")
    at.selectbox(key="forecasts_symbol").set_value(symbol).run()
    at.selectbox(key="forecasts_horizon").set_value("5m").run()
    at.selectbox(key="forecasts_range").set_value("Last 6 hours").run()
    assert not at.exception, [e.value for e in at.exception]
    (spec,) = plotly_specs(at)
    names = [t.get("name") for t in spec["data"]]
    assert names == ["interval (upper)", "river_bayes_linear interval", "river_bayes_linear", "random walk (naive)",
                     "mid (what happened)"]
    assert written == (MINUTES - 5) * 9


def test_display_table_never_shows_nan_or_none() -> None:
    import pandas as pd

    raw = pd.DataFrame([{"symbol": "X/USDT", "horizon": "1m", "model": "river_bayes_linear", "time": None, "n": 3.0,
                         "mae": float("nan"), "mae_random_walk": None, "mase": None, "directional_n": 0.0, "hits": 0.0,
                         "hit_rate": float("nan"), "binomial_p": None, "dm_stat": None, "dm_p_better": None,
                         "dm_p_worse": None, "coverage": None, "verdict": None}])
    shown = skill_table(raw)
    assert shown.iloc[0].tolist() == ["X/USDT", "1m", "river_bayes_linear", "3"] + [NA] * 8
