"""Skill metrics against hand-computed cases, and the online accumulators against the batch formulas."""

from __future__ import annotations

import math
import random

import pytest

from rules.crypto.forecast_metrics import (
    BASELINE,
    NO_SKILL,
    SKILL,
    WORSE,
    OnlineAutocov,
    Skill,
    autocovariances,
    binomial_p_greater,
    diebold_mariano,
    dm_from_moments,
    verdict,
)


def test_binomial_hand_computed() -> None:
    # P(X >= 9 | n=10, p=0.5) = (C(10,9) + C(10,10)) / 2^10
    assert binomial_p_greater(9, 10) == pytest.approx(11 / 1024)
    assert binomial_p_greater(5, 10) == pytest.approx(638 / 1024)  # sum_{k>=5} C(10,k) = 638
    assert binomial_p_greater(0, 0) == 1.0


def test_autocovariances_hand_computed() -> None:
    # d = 1..5: deviations -2..2; gamma0 = 10/5, gamma1 = (-1*-2 + 0*-1 + 1*0 + 2*1)/5, gamma2 = (0*-2 + 1*-1 + 2*0)/5
    assert autocovariances([1, 2, 3, 4, 5], 2) == pytest.approx([2.0, 0.8, -0.2])


def test_diebold_mariano_hand_computed_h2() -> None:
    # mean 3, V = 2 + 2 * 0.8 = 3.6, DM = 3 / sqrt(3.6 / 5); HLN factor sqrt((5 + 1 - 4 + 2/5) / 5) = sqrt(0.48)
    stat, p_better, p_worse = diebold_mariano([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], horizon=2)  # type: ignore[misc]
    assert stat == pytest.approx(math.sqrt(6))
    assert p_better + p_worse == pytest.approx(1.0)
    assert p_worse < 0.05 < p_better  # the model's loss is clearly higher: worse


def test_diebold_mariano_hand_computed_h1() -> None:
    # d = [1, -1, 2, 0]: mean 0.5, gamma0 = (0.25 + 2.25 + 2.25 + 0.25) / 4 = 1.25; HLN sqrt(3/4)
    stat, _, _ = diebold_mariano([1, -1, 2, 0], [0, 0, 0, 0], horizon=1)  # type: ignore[misc]
    assert stat == pytest.approx(0.5 / math.sqrt(1.25 / 4) * math.sqrt(0.75))


def test_diebold_mariano_falls_back_to_gamma0_when_hac_variance_is_not_positive() -> None:
    # d = [1, -1, 2, 0] with h=2: gamma1 = -0.9375, 1.25 + 2 * gamma1 < 0 -> gamma0 alone
    stat, _, _ = diebold_mariano([1, -1, 2, 0], [0, 0, 0, 0], horizon=2)  # type: ignore[misc]
    hln = math.sqrt((4 + 1 - 4 + 2 / 4) / 4)
    assert stat == pytest.approx(0.5 / math.sqrt(1.25 / 4) * hln)


def test_diebold_mariano_undefined_cases() -> None:
    assert diebold_mariano([1, 2], [0, 0], 1) is None  # too short
    assert diebold_mariano([1, 1, 1, 1], [0, 0, 0, 0], 1) is None  # no variance
    assert dm_from_moments(1.0, [1.0], 2, horizon=3) is None  # HLN factor not positive


@pytest.mark.parametrize("max_lag", [0, 1, 4, 14])
def test_online_autocovariances_equal_batch(max_lag: int) -> None:
    rnd = random.Random(max_lag)
    d = [rnd.gauss(0.3, 2) for _ in range(257)]
    acc = OnlineAutocov(max_lag)
    for x in d:
        acc.add(x)
    assert acc.mean() == pytest.approx(sum(d) / len(d))
    assert acc.gammas() == pytest.approx(autocovariances(d, max_lag))


def test_online_autocovariances_shorter_than_lags() -> None:
    acc = OnlineAutocov(5)
    for x in (1.0, 3.0):
        acc.add(x)
    assert acc.gammas() == pytest.approx([*autocovariances([1.0, 3.0], 1), 0, 0, 0, 0])


def test_skill_hand_computed() -> None:
    s = Skill(horizon=1)
    for pred, actual in ((1.0, 2.0), (-1.0, 1.0), (2.0, 1.0), (0.0, 3.0)):
        s.add(pred, actual, pred - 1.5, pred + 1.5)
    f = s.figures(min_n=1)
    assert f.n == 4
    assert f.mae == pytest.approx((1 + 2 + 1 + 3) / 4)
    assert f.mae_random_walk == pytest.approx((2 + 1 + 1 + 3) / 4)
    assert f.mase == pytest.approx(7 / 7)
    assert (f.directional_n, f.hits, f.hit_rate) == (3, 2, pytest.approx(2 / 3))  # a zero forecast has no direction
    assert f.coverage == pytest.approx(2 / 4)  # 2 in [0.5, 2.5]; 1 outside [-2.5, 0.5]; 1 in [0.5, 3.5]; 3 outside [-1.5, 1.5]
    stat, p_better, _ = diebold_mariano([1, 2, 1, 3], [2, 1, 1, 3], 1)  # type: ignore[misc]
    assert (f.dm_stat, f.dm_p_better) == (pytest.approx(stat), pytest.approx(p_better))
    assert f.verdict == NO_SKILL


def test_direction_counts_non_overlapping_targets_only() -> None:
    s = Skill(horizon=3)
    for i in range(7):  # forecasts 0, 3 and 6 count; 3 is wrong
        s.add(1.0, -1.0 if i == 3 else 1.0, 0, 2)
    f = s.figures(min_n=1)
    assert (f.directional_n, f.hits) == (3, 2)
    assert f.binomial_p == binomial_p_greater(2, 3)


def test_random_walk_row_is_the_baseline() -> None:
    s = Skill(horizon=5, is_baseline=True)
    for actual in (1.0, -2.0, 0.5):
        s.add(0.0, actual, -1, 1)
    f = s.figures(min_n=1)
    assert f.mase == pytest.approx(1.0) and f.hit_rate is None and f.dm_stat is None
    assert f.verdict == BASELINE


def test_verdicts() -> None:
    assert verdict(False, 10, 0.9, 0.001, 0.999, None, None, min_n=30) == "not enough matured forecasts yet (10 of 30)"
    assert verdict(False, 100, 0.95, 0.01, 0.99, 0.5, 0.5).startswith(SKILL + " (MASE 0.950")
    assert verdict(False, 100, 0.99, 0.2, 0.8, 0.5, 0.5) == NO_SKILL
    assert verdict(False, 100, 1.2, 0.999, 0.001, 0.5, 0.5).startswith(WORSE)
    # a significant p with MASE >= 1 is no skill (cannot happen with one loss, but the verdict holds to both)
    assert verdict(False, 100, 1.0, 0.01, 0.99, None, None) == NO_SKILL
    with_direction = verdict(False, 100, 1.0, 0.3, 0.7, 0.6, 0.01)
    assert with_direction.startswith(NO_SKILL + "; direction right 60.0% of the time")
    assert verdict(False, 100, 1.0, 0.3, 0.7, 0.4, 0.01) == NO_SKILL  # a low hit rate is never praised
