"""Skill of a forecast against the random walk: MAE, MASE, hit rate, binomial and Diebold-Mariano tests.

Everything here is walk-forward bookkeeping: a forecast enters only when its target has matured,
paired with the random walk's forecast of the same target (zero return), so the model and the
baseline are always judged on the same points. ``Skill`` is an online accumulator (O(horizon)
state, picklable for Bytewax recovery) whose figures equal the batch functions below on the same
series - the unit tests hold them to that and to hand-computed cases.

Direction (hit rate, binomial test) counts only non-overlapping targets: every h-th forecast at
horizon h, and only where both the forecast and the outcome moved. Loss is the absolute error,
so MASE (model MAE / random-walk MAE on the same targets) and the Diebold-Mariano test answer the
same question: is the model's MAE really below the random walk's.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy import stats

NO_SKILL = "no skill over a random walk"
SKILL = "skill over a random walk"
WORSE = "worse than a random walk"
BASELINE = "the baseline (random walk)"


def binomial_p_greater(hits: int, n: int) -> float:
    """One-sided p-value of ``hits`` right directions out of ``n`` if each were a coin flip (H1: p > 0.5)."""
    if n <= 0:
        return 1.0
    return float(stats.binomtest(hits, n, 0.5, alternative="greater").pvalue)


def autocovariances(d: Sequence[float], max_lag: int) -> list[float]:
    """gamma_0..gamma_max_lag of ``d`` around its mean, each divided by n (as in Diebold-Mariano 1995)."""
    n = len(d)
    mean = sum(d) / n
    return [sum((d[t] - mean) * (d[t - k] - mean) for t in range(k, n)) / n for k in range(max_lag + 1)]


def dm_from_moments(mean: float, gammas: Sequence[float], n: int, horizon: int) -> tuple[float, float, float] | None:
    """(statistic, p that the model is better, p that it is worse) from the mean loss differential
    and its autocovariances up to lag ``horizon - 1``; None when undefined (n < 3 or no variance).

    Variance of the mean: (gamma_0 + 2 sum gamma_k) / n (h-1 lags: h-step forecasts made every step
    overlap); if that is not positive, gamma_0 / n. Harvey-Leybourne-Newbold small-sample factor,
    Student t with n - 1 degrees of freedom."""
    if n < 3:
        return None
    var = gammas[0] + 2 * sum(gammas[1:horizon])
    if var <= 0:
        var = gammas[0]
    if var <= 0:
        return None
    stat = mean / math.sqrt(var / n)
    hln = (n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n
    if hln <= 0:
        return None
    stat *= math.sqrt(hln)
    return stat, float(stats.t.cdf(stat, n - 1)), float(stats.t.sf(stat, n - 1))


def diebold_mariano(loss_model: Sequence[float], loss_baseline: Sequence[float], horizon: int) -> tuple[float, float, float] | None:
    """Batch Diebold-Mariano test on d = loss_model - loss_baseline (negative mean: the model is better)."""
    d = [a - b for a, b in zip(loss_model, loss_baseline, strict=True)]
    if len(d) < 3:
        return None
    return dm_from_moments(sum(d) / len(d), autocovariances(d, horizon - 1), len(d), horizon)


@dataclass
class OnlineAutocov:
    """Sum, squares and lagged cross products of a growing series: its autocovariances up to ``max_lag``
    exactly as ``autocovariances`` computes them, without keeping the series."""

    max_lag: int
    n: int = 0
    total: float = 0.0
    cross: list[float] = field(default_factory=list)  # cross[k] = sum d_t * d_{t-k}, k = 0..max_lag
    first: list[float] = field(default_factory=list)  # the first max_lag values
    last: deque[float] = field(default_factory=deque)  # the last max_lag values, newest at the right

    def __post_init__(self) -> None:
        if not self.cross:
            self.cross = [0.0] * (self.max_lag + 1)

    def add(self, x: float) -> None:
        self.n += 1
        self.total += x
        self.cross[0] += x * x
        for k in range(1, min(self.max_lag, len(self.last)) + 1):
            self.cross[k] += x * self.last[-k]
        if len(self.first) < self.max_lag:
            self.first.append(x)
        if self.max_lag:
            self.last.append(x)
            if len(self.last) > self.max_lag:
                self.last.popleft()

    def mean(self) -> float:
        return self.total / self.n

    def gammas(self) -> list[float]:
        """gamma_k = (sum d_t d_{t-k} - mean (sum of d without its first k + without its last k) + (n-k) mean^2) / n."""
        n, m = self.n, self.mean()
        out = []
        for k in range(self.max_lag + 1):
            if k >= n:
                out.append(0.0)
                continue
            head = sum(self.first[:k])
            tail = sum(list(self.last)[len(self.last) - k:]) if k else 0.0
            out.append((self.cross[k] - m * ((self.total - head) + (self.total - tail)) + (n - k) * m * m) / n)
        return out


@dataclass(frozen=True)
class SkillFigures:
    """What the skill table shows for one symbol, horizon and model; None = not defined (yet)."""

    n: int
    mae: float | None
    mae_random_walk: float | None
    mase: float | None
    directional_n: int
    hits: int
    hit_rate: float | None
    binomial_p: float | None
    dm_stat: float | None
    dm_p_better: float | None
    dm_p_worse: float | None
    coverage: float | None
    verdict: str


@dataclass
class Skill:
    """Online walk-forward skill of one model at one horizon against the random walk."""

    horizon: int
    is_baseline: bool = False
    n: int = 0
    abs_err: float = 0.0
    abs_err_rw: float = 0.0
    sq_err: float = 0.0
    directional_n: int = 0
    hits: int = 0
    covered: int = 0
    dm: OnlineAutocov = field(init=False)

    def __post_init__(self) -> None:
        self.dm = OnlineAutocov(max(self.horizon - 1, 0))

    def add(self, predicted: float, actual: float, lower: float, upper: float) -> None:
        """One matured forecast: the model's predicted return, the realized one, its interval.

        Direction counts every ``horizon``-th forecast only: h-step targets made every step overlap,
        and the binomial test needs independent trials."""
        err = abs(actual - predicted)
        err_rw = abs(actual)
        self.n += 1
        self.abs_err += err
        self.abs_err_rw += err_rw
        self.sq_err += (actual - predicted) ** 2
        if (self.n - 1) % self.horizon == 0 and predicted != 0 and actual != 0:
            self.directional_n += 1
            self.hits += (predicted > 0) == (actual > 0)
        self.covered += lower <= actual <= upper
        self.dm.add(err - err_rw)

    def rmse(self) -> float | None:
        return math.sqrt(self.sq_err / self.n) if self.n else None

    def figures(self, alpha: float = 0.05, min_n: int = 30) -> SkillFigures:
        n = self.n
        mae = self.abs_err / n if n else None
        mae_rw = self.abs_err_rw / n if n else None
        mase = mae / mae_rw if mae is not None and mae_rw else None
        hit_rate = self.hits / self.directional_n if self.directional_n else None
        binom = binomial_p_greater(self.hits, self.directional_n) if self.directional_n else None
        dm = None if self.is_baseline or n < 3 else dm_from_moments(self.dm.mean(), self.dm.gammas(), n, self.horizon)
        return SkillFigures(
            n=n, mae=mae, mae_random_walk=mae_rw, mase=mase, directional_n=self.directional_n, hits=self.hits,
            hit_rate=hit_rate, binomial_p=binom, dm_stat=dm[0] if dm else None, dm_p_better=dm[1] if dm else None,
            dm_p_worse=dm[2] if dm else None, coverage=self.covered / n if n else None,
            verdict=verdict(self.is_baseline, n, mase, dm[1] if dm else None, dm[2] if dm else None,
                            hit_rate, binom, alpha, min_n),
        )


def verdict(is_baseline: bool, n: int, mase: float | None, p_better: float | None, p_worse: float | None,
            hit_rate: float | None, binomial_p: float | None, alpha: float = 0.05, min_n: int = 30) -> str:
    """The plain sentence for the skill table.

    Skill only when the Diebold-Mariano test says the MAE is below the random walk's at ``alpha``
    (and MASE < 1); "worse" when it says the opposite; otherwise no skill. A direction hit rate that
    beats a coin flip at ``alpha`` is mentioned, but it alone is no skill over the random walk's error."""
    if is_baseline:
        return BASELINE
    if n < min_n:
        return f"not enough matured forecasts yet ({n} of {min_n})"
    if p_better is not None and p_better < alpha and mase is not None and mase < 1:
        text = f"{SKILL} (MASE {mase:.3f}, Diebold-Mariano p = {p_better:.3g})"
    elif p_worse is not None and p_worse < alpha:
        text = f"{WORSE} (MASE {mase:.3f}, Diebold-Mariano p = {p_worse:.3g})" if mase is not None else WORSE
    else:
        text = NO_SKILL
    if hit_rate is not None and binomial_p is not None and binomial_p < alpha and hit_rate > 0.5:
        text += f"; direction right {hit_rate:.1%} of the time (binomial p = {binomial_p:.3g})"
    return text
