"""The online learners a forecaster can use (river), by name, and their lagged-return features.

Returns enter in basis points (1e-4 of log return) so that the learners' default step sizes fit
the scale of minute returns. Which learner is the default was measured (``bench/forecast_models.py``,
docs/forecasts.md): the lightest one that finds a known AR(1) signal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from river import linear_model, optim, preprocessing

BP = 1e4


class OnlineRegressor(Protocol):
    """What the forecaster needs of a river regressor."""

    def predict_one(self, x: dict[str, float]) -> Any: ...

    def learn_one(self, x: dict[str, float], y: float) -> Any: ...


def _linear() -> OnlineRegressor:
    model: OnlineRegressor = preprocessing.StandardScaler() | linear_model.LinearRegression(
        optimizer=optim.SGD(0.01), intercept_lr=0.01, l2=0.0)
    return model


def _bayes() -> OnlineRegressor:
    model: OnlineRegressor = linear_model.BayesianLinearRegression()
    return model


MODELS: dict[str, Callable[[], OnlineRegressor]] = {
    "river_linear": _linear,
    "river_bayes_linear": _bayes,
}
RANDOM_WALK = "random_walk"
DRIFT = "drift"
BASELINES = (RANDOM_WALK, DRIFT)


def make_model(name: str) -> OnlineRegressor:
    """A fresh learner; raises ``KeyError`` naming the known ones."""
    try:
        return MODELS[name]()
    except KeyError:
        raise KeyError(f"unknown forecast model {name!r}; known: {', '.join(MODELS)}") from None


def lag_features(returns_bp: Sequence[float], lags: int) -> dict[str, float]:
    """``r1`` = the newest 1-bar return, ``r2`` the one before, ... ``r{lags}``."""
    return {f"r{k}": float(returns_bp[-k]) for k in range(1, lags + 1)}
