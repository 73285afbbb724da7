"""A backtest is the live forecaster replayed over stored minute closes: same bars, same walk-forward.

``minute_closes`` makes the bars of stored mids exactly as the flow does (last mid of each window);
``replay`` feeds them to ``Forecaster.add_bar`` and keeps, per horizon and model, the running
difference of absolute errors against the random walk (the Diebold-Mariano loss differential
summed: below zero = better than the random walk so far) for the report's plot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from contracts.forecast import ForecastRecord
from rules.crypto.forecast import Forecaster, ForecastState
from rules.crypto.forecast_metrics import SkillFigures


def minute_closes(times_ms: Sequence[int], mids: Sequence[float], bar_s: int = 60) -> list[tuple[int, float]]:
    """(bar index, close) for each window with a mid: the mid with the latest time in it."""
    bar_ms = bar_s * 1000
    last: dict[int, tuple[int, float]] = {}
    for t, m in zip(times_ms, mids, strict=True):
        b = t // bar_ms
        if b not in last or t >= last[b][0]:
            last[b] = (t, m)
    return [(b, last[b][1]) for b in sorted(last)]


@dataclass
class Replay:
    """The outcome of one symbol's replay."""

    symbol: str
    bars: int = 0
    forecasts: int = 0
    # (horizon bars, model) -> [(bar end ms, sum of |e_model| - |e_random_walk| so far, in bp)]
    cumulative: dict[tuple[int, str], list[tuple[int, float]]] = field(default_factory=dict)
    final: dict[tuple[int, str], SkillFigures] = field(default_factory=dict)
    state: ForecastState | None = None


def replay(forecaster: Forecaster, symbol: str, closes: Iterable[tuple[int, float]], *, sample_every: int = 10,
           progress: Callable[[int], None] | None = None, progress_every: int = 1000) -> Replay:
    """Run ``closes`` through a fresh forecaster; ``progress(bars_done)`` every ``progress_every`` bars."""
    cfg = forecaster.config
    st = forecaster.new_state(symbol)
    out = Replay(symbol, state=st)
    for i, (bar, close) in enumerate(closes, 1):
        records = forecaster.add_bar(st, bar, close)
        out.forecasts += sum(1 for r in records if isinstance(r, ForecastRecord))
        out.bars = i
        if i % sample_every == 0:
            end_ms = (bar + 1) * cfg.bar_s * 1000
            for key, skill in st.skills.items():
                if skill.n:
                    out.cumulative.setdefault(key, []).append((end_ms, skill.abs_err - skill.abs_err_rw))
        if progress is not None and i % progress_every == 0:
            progress(i)
    out.final = {key: skill.figures(cfg.alpha, cfg.min_n) for key, skill in st.skills.items()}
    return out

