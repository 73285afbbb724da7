"""The backtest's bars and replay: the same bars as the flow, the same forecasts as the live forecaster."""

from __future__ import annotations

from contracts.forecast import ForecastRecord, MidTick
from rules.crypto.forecast import ForecastConfig, Forecaster
from rules.crypto.forecast_backtest import minute_closes, replay
from tests.unit.crypto.forecast_helpers import simulated_spreads
from tests.unit.crypto.test_forecast import prices

T0 = 1_767_225_600_000


def test_minute_closes_take_the_latest_mid_of_each_window() -> None:
    times = [T0 + 5_000, T0 + 59_000, T0 + 30_000, T0 + 60_000, T0 + 180_500]
    mids = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert minute_closes(times, mids) == [(T0 // 60_000, 2.0), (T0 // 60_000 + 1, 4.0), (T0 // 60_000 + 3, 5.0)]


def test_replay_of_stored_mids_equals_the_flow() -> None:
    """Bars from the stored spreads' mids give the flow's forecasts (the flow closes a bar on the next window's tick)."""
    spreads = simulated_spreads(40, symbols=("BTC/USDT",))
    fc = Forecaster(ForecastConfig(min_n=5))
    st = None
    live: list = []
    for s in spreads:
        st, out = fc.update(st, MidTick(s.symbol, s.ts, s.mid))
        live += out
    closes = minute_closes([s.ts for s in spreads], [s.mid for s in spreads])[:-1]  # the flow's last bar is still open
    rp = replay(fc, "BTC/USDT", closes, sample_every=1)
    assert st is not None and rp.state is not None
    assert rp.forecasts == sum(isinstance(o, ForecastRecord) for o in live) == (40 - 5) * 9  # steps to 40:00.050: bars 0..39 closed
    assert {k: v.figures(0.05, 5) for k, v in st.skills.items()} == rp.final
    # the cumulative error difference is the skill's own running sum
    assert rp.cumulative[(1, "drift")][-1][1] == st.skills[(1, "drift")].abs_err - st.skills[(1, "drift")].abs_err_rw


def test_progress_is_reported() -> None:
    seen: list[int] = []
    closes = list(enumerate(prices(0.0, 250, 1)))
    rp = replay(Forecaster(ForecastConfig(skill_every_bars=10**9)), "X/USDT", closes, progress=seen.append, progress_every=100)
    assert seen == [100, 200] and rp.bars == 250
