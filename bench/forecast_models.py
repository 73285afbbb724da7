"""Which online learner the forecaster uses, by measurement: error against the random walk on a
known AR(1) signal and on a pure random walk, and CPU per bar (predict + learn), interleaved.

    python -m bench.forecast_models [--bars 3000] [--rounds 3]

Also times the whole forecaster per bar (3 horizons x 3 models, skill records every bar).
"""

from __future__ import annotations

import argparse
import math
import random
import time

from river import linear_model

from rules.crypto.forecast import ForecastConfig, Forecaster
from rules.crypto.forecast_models import MODELS, lag_features, make_model


def returns_bp(phi: float, n: int, seed: int) -> list[float]:
    rnd = random.Random(seed)
    r, out = 0.0, []
    for _ in range(n):
        r = phi * r + rnd.gauss(0, 5.0)
        out.append(r)
    return out


def candidates() -> dict[str, object]:
    return {**{name: name for name in MODELS}, "river_pa (rejected)": "pa"}


def run(name: str, series: list[float], lags: int = 5) -> tuple[float, float]:
    """(MAE / random-walk MAE, CPU microseconds per bar) of one-step forecasts."""
    model = linear_model.PARegressor() if name.startswith("river_pa") else make_model(name)  # type: ignore[no-untyped-call]
    err = err_rw = 0.0
    n = 0
    t0 = time.process_time()
    for t in range(lags, len(series) - 1):
        x = lag_features(series[: t + 1], lags)
        y = series[t + 1]
        p = float(model.predict_one(x) or 0.0)
        err += abs(y - p)
        err_rw += abs(y)
        n += 1
        model.learn_one(x, y)
    return err / err_rw, (time.process_time() - t0) / n * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.forecast_models", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bars", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    names = list(candidates())
    results: dict[tuple[str, float], list[tuple[float, float]]] = {}
    for rnd in range(args.rounds):
        for phi in (0.3, 0.0):
            series = returns_bp(phi, args.bars, 100 + rnd)
            for name in names if rnd % 2 == 0 else reversed(names):  # interleaved, order alternating
                results.setdefault((name, phi), []).append(run(name, series))
    print(f"{'learner':24} {'AR(1) 0.3 MASE':>15} {'random walk MASE':>17} {'CPU us/bar':>11}")
    for name in names:
        ar = sorted(r for r, _ in results[(name, 0.3)])[len(results[(name, 0.3)]) // 2]
        rw = sorted(r for r, _ in results[(name, 0.0)])[len(results[(name, 0.0)]) // 2]
        cpu = min(c for phi in (0.3, 0.0) for _, c in results[(name, phi)])
        print(f"{name:24} {ar:15.4f} {rw:17.4f} {cpu:11.1f}")
    print(f"(optimal MASE on AR(1) 0.3 with Gaussian noise: {math.sqrt(1 - 0.09):.4f})")
    closes, logp = [], math.log(100.0)
    for r in returns_bp(0.0, args.bars, 7):
        logp += r / 1e4
        closes.append(math.exp(logp))
    fc = Forecaster(ForecastConfig())
    st = fc.new_state("X/USDT")
    t0 = time.process_time()
    for i, c in enumerate(closes):
        fc.add_bar(st, i, c)
    print(f"whole forecaster (3 horizons x 3 models, skill every bar): {(time.process_time() - t0) / len(closes) * 1e3:.2f} CPU ms/bar")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
