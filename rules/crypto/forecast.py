"""Walk-forward forecasts of the cross-exchange mid per symbol, one call per spread or per bar.

Each symbol's mids are cut into bars of ``bar_s`` (1 minute): a bar closes with the last mid of its
window when the first mid of a later window arrives (book clocks rise per symbol, so nothing of the
window can follow). At each close, for every horizon h (bars):

1. the forecasts made h bars ago mature: each model's error enters its ``Skill`` (paired with the
   random walk's error on the same target), then - only then - the learner learns that target;
2. the learner and the baselines forecast the return to h bars ahead from the newest ``lags``
   1-bar returns; they wait as pending forecasts until their own close.

So no forecast is scored on, and no learner sees, a target that had not matured when it predicted.
Missing bars (no spread in a window) repeat the last close, up to ``max_gap_bars``; a longer gap
starts the symbol's history over (its pending forecasts expire, counted) while skill and learners
keep what they learned. State is plain data plus river models: picklable for Bytewax recovery.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from statistics import NormalDist

from contracts.forecast import ForecastRecord, MidTick, SkillRecord
from rules.crypto.forecast_metrics import Skill
from rules.crypto.forecast_models import BP, DRIFT, RANDOM_WALK, OnlineRegressor, lag_features, make_model

DEFAULT_MODEL = "river_bayes_linear"


@dataclass(frozen=True)
class ForecastConfig:
    """How the forecaster works; ``horizons`` in bars, ``interval_level`` the central share of the interval."""

    horizons: tuple[int, ...] = (1, 5, 15)
    lags: int = 5
    bar_s: int = 60
    model: str = DEFAULT_MODEL
    max_gap_bars: int = 5
    interval_level: float = 0.9
    alpha: float = 0.05
    min_n: int = 30
    skill_every_bars: int = 1  # a backtest asks for fewer skill records (each costs the tests' p-values)

    def __post_init__(self) -> None:
        if not self.horizons or any(h < 1 for h in self.horizons) or len(set(self.horizons)) != len(self.horizons):
            raise ValueError(f"horizons: distinct positive bar counts needed, got {self.horizons!r}")
        if self.lags < 1 or self.bar_s < 1 or self.max_gap_bars < 0 or self.min_n < 1 or self.skill_every_bars < 1:
            raise ValueError("lags, bar_s, min_n and skill_every_bars must be >= 1, max_gap_bars >= 0")
        if not 0 < self.interval_level < 1 or not 0 < self.alpha < 1:
            raise ValueError("interval_level and alpha must be between 0 and 1")
        make_model(self.model)  # raises on an unknown name

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model, RANDOM_WALK, DRIFT)


@dataclass
class Welford:
    """Running mean and variance (of 1-bar returns, in basis points)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def std(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0


@dataclass(frozen=True)
class Pending:
    """A forecast waiting for its target bar: per model (return bp, lower bp, upper bp)."""

    due_bar: int
    base_price: float
    features: dict[str, float]
    predictions: dict[str, tuple[float, float, float]]


@dataclass
class ForecastState:
    """Everything one symbol's forecaster carries between bars."""

    symbol: str
    bar: int | None = None  # index of the open bar (ts // bar_ms)
    bar_mid: float = 0.0  # its latest mid
    last_bar: int | None = None  # index of the newest closed bar
    last_close: float | None = None
    returns_bp: deque[float] = field(default_factory=deque)
    returns: Welford = field(default_factory=Welford)
    learners: dict[int, OnlineRegressor] = field(default_factory=dict)
    pending: dict[int, deque[Pending]] = field(default_factory=dict)
    skills: dict[tuple[int, str], Skill] = field(default_factory=dict)
    bars: int = 0
    filled_bars: int = 0
    resets: int = 0
    expired: int = 0
    late_ticks: int = 0


Output = ForecastRecord | SkillRecord


@dataclass(frozen=True)
class Forecaster:
    """The bound rules (picklable, no hidden state): ``update`` for the flow, ``add_bar`` for a backtest."""

    config: ForecastConfig = field(default_factory=ForecastConfig)

    def new_state(self, symbol: str) -> ForecastState:
        cfg = self.config
        st = ForecastState(symbol, returns_bp=deque(maxlen=cfg.lags))
        for h in cfg.horizons:
            st.learners[h] = make_model(cfg.model)
            st.pending[h] = deque()
            for m in cfg.models:
                st.skills[(h, m)] = Skill(h, is_baseline=m == RANDOM_WALK)
        return st

    def update(self, state: ForecastState | None, tick: MidTick) -> tuple[ForecastState, list[Output]]:
        """``stateful_map`` mapper keyed by symbol: one spread's mid in, what the bars it closed produced out."""
        st = state or self.new_state(tick.symbol)
        bar = tick.ts // (self.config.bar_s * 1000)
        out: list[Output] = []
        if st.bar is None:
            st.bar, st.bar_mid = bar, tick.mid
        elif bar < st.bar:
            st.late_ticks += 1  # a book clock that went back (replayed older record): its window is closed
        elif bar == st.bar:
            st.bar_mid = tick.mid
        else:
            out = self.add_bar(st, st.bar, st.bar_mid)
            st.bar, st.bar_mid = bar, tick.mid
        return st, out

    def add_bar(self, st: ForecastState, bar: int, close: float) -> list[Output]:
        """Close bar ``bar`` at ``close`` (after filling a short gap before it): skill and forecasts."""
        out: list[Output] = []
        if st.last_bar is not None and bar <= st.last_bar:
            return out
        if st.last_bar is not None and st.last_close is not None and bar > st.last_bar + 1:
            if bar - st.last_bar - 1 <= self.config.max_gap_bars:
                for filled in range(st.last_bar + 1, bar):
                    st.filled_bars += 1
                    out += self._close(st, filled, st.last_close)
            else:
                self._restart(st)
        out += self._close(st, bar, close)
        return out

    def _restart(self, st: ForecastState) -> None:
        st.resets += 1
        for queue in st.pending.values():
            st.expired += len(queue)
            queue.clear()
        st.returns_bp.clear()
        st.last_close = None

    def _close(self, st: ForecastState, bar: int, close: float) -> list[Output]:
        cfg = self.config
        out: list[Output] = []
        st.bars += 1
        if st.last_close is not None:
            r = math.log(close / st.last_close) * BP
            st.returns_bp.append(r)
            st.returns.add(r)
        end_ms = (bar + 1) * cfg.bar_s * 1000
        for h in cfg.horizons:
            queue = st.pending[h]
            matured = False
            while queue and queue[0].due_bar <= bar:
                p = queue.popleft()
                actual = math.log(close / p.base_price) * BP
                for m, (pred, lo, hi) in p.predictions.items():
                    st.skills[(h, m)].add(pred, actual, lo, hi)
                st.learners[h].learn_one(p.features, actual)  # learn only after scoring
                matured = True
            if matured and bar % cfg.skill_every_bars == 0:
                out += [self.skill_record(st, h, m, end_ms) for m in cfg.models]
        st.last_close, st.last_bar = close, bar
        if len(st.returns_bp) < cfg.lags:
            return out
        x = lag_features(st.returns_bp, cfg.lags)
        z = NormalDist().inv_cdf(0.5 + cfg.interval_level / 2)
        for h in cfg.horizons:
            preds: dict[str, tuple[float, float, float]] = {}
            for m in cfg.models:
                if m == RANDOM_WALK:
                    ret = 0.0
                elif m == DRIFT:
                    ret = h * st.returns.mean
                else:
                    ret = float(st.learners[h].predict_one(x) or 0.0)
                    if not math.isfinite(ret):
                        ret = 0.0
                half = z * self._sigma(st, h, m)
                preds[m] = (ret, ret - half, ret + half)
                out.append(self.forecast_record(st.symbol, h, m, end_ms, close, preds[m]))
            st.pending[h].append(Pending(bar + h, close, x, preds))
        return out

    def _sigma(self, st: ForecastState, h: int, model: str) -> float:
        """Width of the interval: the model's own RMSE once ``min_n`` forecasts matured, else sqrt(h) x the 1-bar std."""
        skill = st.skills[(h, model)]
        rmse = skill.rmse()
        if skill.n >= self.config.min_n and rmse is not None:
            return rmse
        return math.sqrt(h) * st.returns.std()

    def forecast_record(self, symbol: str, h: int, model: str, made_at_ms: int, base: float,
                        pred: tuple[float, float, float]) -> ForecastRecord:
        ret, lo, hi = (v / BP for v in pred)
        return ForecastRecord(
            symbol=symbol, horizon_min=h * self.config.bar_s // 60, made_at_ms=made_at_ms,
            target_time_ms=made_at_ms + h * self.config.bar_s * 1000, model=model, base_price=base,
            predicted_return=ret, predicted_price=base * math.exp(ret), lower_return=lo, upper_return=hi,
            lower_price=base * math.exp(lo), upper_price=base * math.exp(hi), interval_level=self.config.interval_level)

    def skill_record(self, st: ForecastState, h: int, model: str, ts: int) -> SkillRecord:
        f = st.skills[(h, model)].figures(self.config.alpha, self.config.min_n)

        def ret(v: float | None) -> float | None:
            return None if v is None else v / BP

        return SkillRecord(
            symbol=st.symbol, horizon_min=h * self.config.bar_s // 60, model=model, ts=ts, n=f.n, mae=ret(f.mae),
            mae_random_walk=ret(f.mae_random_walk), mase=f.mase, directional_n=f.directional_n, hits=f.hits,
            hit_rate=f.hit_rate, binomial_p=f.binomial_p, dm_stat=f.dm_stat, dm_p_better=f.dm_p_better,
            dm_p_worse=f.dm_p_worse, coverage=f.coverage, verdict=f.verdict)
