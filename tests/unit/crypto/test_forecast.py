"""The walk-forward forecaster: bars from spreads, exact counts, no look-ahead, honest verdicts.

A series with a known AR(1) signal in its 1-minute returns must show skill over the random walk;
a pure random walk must not (no false claim) - both with fixed seeds, so the test is exact.
"""

from __future__ import annotations

import math
import pickle
import random

from contracts.forecast import ForecastRecord, MidTick, SkillRecord
from rules.crypto.forecast import ForecastConfig, Forecaster, ForecastState
from rules.crypto.forecast_metrics import BASELINE, NO_SKILL, SKILL
from rules.crypto.forecast_models import DRIFT, RANDOM_WALK

T0 = 1_767_225_600_000  # a minute boundary
MIN = 60_000


def prices(phi: float, n: int, seed: int, sigma: float = 5e-4) -> list[float]:
    """Prices whose log-returns are AR(1) with coefficient ``phi`` (0 = a random walk)."""
    rnd = random.Random(seed)
    r, logp, out = 0.0, math.log(100.0), []
    for _ in range(n):
        r = phi * r + rnd.gauss(0, sigma)
        logp += r
        out.append(math.exp(logp))
    return out


def run_bars(fc: Forecaster, closes: list[float], symbol: str = "BTC/USDT") -> tuple[ForecastState, list]:
    st = fc.new_state(symbol)
    out: list = []
    for i, c in enumerate(closes):
        out += fc.add_bar(st, T0 // MIN + i, c)
    return st, out


def final_skill(out: list) -> dict[tuple[int, str], SkillRecord]:
    return {(r.horizon_min, r.model): r for r in out if isinstance(r, SkillRecord)}


def test_bars_close_on_the_first_tick_of_a_later_window() -> None:
    fc = Forecaster(ForecastConfig(horizons=(1,), lags=1))
    st = None
    ticks = [MidTick("BTC/USDT", T0 + 1_000, 100.0), MidTick("BTC/USDT", T0 + 59_999, 101.0),  # bar 0 closes at 101
             MidTick("BTC/USDT", T0 + MIN, 102.0),  # bar 1 opens: bar 0 closes (no forecast yet: no return)
             MidTick("BTC/USDT", T0 + 2 * MIN + 5, 103.0)]  # bar 1 closes at 102: first return, 3 forecasts
    outs = []
    for t in ticks:
        st, out = fc.update(st, t)
        outs.append(out)
    assert [len(o) for o in outs] == [0, 0, 0, 3]
    f = outs[3][0]
    assert isinstance(f, ForecastRecord) and f.base_price == 102.0
    assert (f.made_at_ms, f.target_time_ms) == (T0 + 2 * MIN, T0 + 3 * MIN)
    st, _ = fc.update(st, MidTick("BTC/USDT", T0 + 30, 99.0))  # older than the open bar: counted, ignored
    assert st.late_ticks == 1


def test_exact_counts_per_bar() -> None:
    cfg = ForecastConfig(horizons=(1, 5, 15), lags=5)
    st, out = run_bars(Forecaster(cfg), prices(0.0, 100, 1))
    forecasts = [r for r in out if isinstance(r, ForecastRecord)]
    skills = [r for r in out if isinstance(r, SkillRecord)]
    made = 100 - cfg.lags  # the first forecast needs `lags` returns, i.e. lags + 1 closes
    assert len(forecasts) == made * 3 * 3
    # a horizon's forecasts mature h bars later; each maturing bar emits one skill record per model
    assert len(skills) == sum(made - h for h in cfg.horizons) * 3
    assert {k: s.n for k, s in final_skill(out).items()} == {(h, m): made - h for h in (1, 5, 15) for m in cfg.models}
    assert {h: len(q) for h, q in st.pending.items()} == {1: 1, 5: 5, 15: 15}


def test_forecast_fields_are_consistent() -> None:
    _, out = run_bars(Forecaster(), prices(0.0, 60, 2))
    for r in out:
        if isinstance(r, ForecastRecord):
            assert r.lower_return <= r.predicted_return <= r.upper_return
            assert math.isclose(r.predicted_price, r.base_price * math.exp(r.predicted_return))
            assert r.lower_price < r.predicted_price < r.upper_price
            assert r.target_time_ms - r.made_at_ms == r.horizon_min * MIN
            if r.model == RANDOM_WALK:
                assert r.predicted_return == 0.0 and r.predicted_price == r.base_price


def test_no_look_ahead_shuffled_future_leaves_past_forecasts_unchanged() -> None:
    closes = prices(0.3, 300, 3)
    cut = 200
    future = closes[cut:]
    random.Random(9).shuffle(future)
    _, a = run_bars(Forecaster(), closes)
    _, b = run_bars(Forecaster(), closes[:cut] + future)
    made_before = (T0 // MIN + cut) * MIN  # end of bar cut-1
    past_a = [r for r in a if isinstance(r, ForecastRecord) and r.made_at_ms <= made_before]
    past_b = [r for r in b if isinstance(r, ForecastRecord) and r.made_at_ms <= made_before]
    assert past_a == past_b and len(past_a) == (cut - 5) * 9
    # skill records up to the cut used only targets that had matured by then: equal too
    assert [r for r in a if isinstance(r, SkillRecord) and r.ts <= made_before] == \
        [r for r in b if isinstance(r, SkillRecord) and r.ts <= made_before]
    # and what came after differs (the test would notice a forecaster that ignored its input)
    assert [r for r in a if isinstance(r, ForecastRecord)] != [r for r in b if isinstance(r, ForecastRecord)]


def test_a_target_is_learned_only_after_it_is_scored() -> None:
    fc = Forecaster(ForecastConfig(horizons=(3,), lags=2))
    st = fc.new_state("ETH/USDT")
    seen: list[tuple[int, int]] = []  # (bar when learned, due bar of the target)
    learner = st.learners[3]
    real_learn = learner.learn_one

    def spy(x: dict[str, float], y: float) -> None:
        seen.append((current[0], st.pending[3][0].due_bar - 1 if st.pending[3] else -1))
        real_learn(x, y)

    learner.learn_one = spy  # type: ignore[method-assign]
    current = [0]
    closes = prices(0.0, 30, 4)
    for i, c in enumerate(closes):
        current[0] = i
        fc.add_bar(st, i, c)
    # first forecast at bar 2 (2 returns), due at bar 5: learned at bar 5, then one per bar
    assert [bar for bar, _ in seen] == list(range(5, 30))


def test_ar1_signal_shows_skill_at_one_minute() -> None:
    _, out = run_bars(Forecaster(), prices(0.3, 3000, 5))
    skill = final_skill(out)
    one = skill[(1, "river_bayes_linear")]
    assert one.verdict.startswith(SKILL), one
    assert one.mase is not None and one.mase < 0.97 and one.dm_p_better is not None and one.dm_p_better < 0.001
    assert one.hit_rate is not None and one.hit_rate > 0.55 and one.binomial_p is not None and one.binomial_p < 0.001
    assert skill[(1, RANDOM_WALK)].verdict == BASELINE
    assert skill[(1, DRIFT)].verdict == NO_SKILL or not skill[(1, DRIFT)].verdict.startswith(SKILL)


def test_random_walk_reports_no_skill() -> None:
    for seed in (6, 7, 8):
        _, out = run_bars(Forecaster(), prices(0.0, 3000, seed))
        for (h, model), r in final_skill(out).items():
            if model == RANDOM_WALK:
                assert r.verdict == BASELINE
            else:
                assert not r.verdict.startswith(SKILL), (seed, h, model, r)


def test_short_gap_is_filled_long_gap_restarts() -> None:
    cfg = ForecastConfig(horizons=(1,), lags=2, max_gap_bars=3)
    fc = Forecaster(cfg)
    st = fc.new_state("BTC/USDT")
    for i in range(10):
        fc.add_bar(st, i, 100 + i)
    out = fc.add_bar(st, 13, 120.0)  # bars 10..12 missing: filled with 109
    assert st.filled_bars == 3 and st.resets == 0
    assert [r.base_price for r in out if isinstance(r, ForecastRecord) and r.model == RANDOM_WALK] == [109, 109, 109, 120]
    pending_before = len(st.pending[1])
    out = fc.add_bar(st, 30, 130.0)  # 16 missing: start over
    assert st.resets == 1 and st.expired == pending_before and out == []
    assert fc.add_bar(st, 29, 1.0) == []  # an older bar than the newest: ignored


def test_state_pickles_for_recovery_and_resumes_identically() -> None:
    fc = Forecaster()
    closes = prices(0.2, 120, 10)
    st, _ = run_bars(fc, closes[:80])
    copy = pickle.loads(pickle.dumps(st))
    a = [fc.add_bar(st, T0 // MIN + i, c) for i, c in enumerate(closes[80:], 80)]
    b = [fc.add_bar(copy, T0 // MIN + i, c) for i, c in enumerate(closes[80:], 80)]
    assert a == b


def test_bad_config_is_refused() -> None:
    import pytest

    for bad in ({"horizons": ()}, {"horizons": (0,)}, {"horizons": (1, 1)}, {"lags": 0}, {"interval_level": 1.0},
                {"model": "crystal_ball"}):
        with pytest.raises((ValueError, KeyError)):
            ForecastConfig(**bad)  # type: ignore[arg-type]
