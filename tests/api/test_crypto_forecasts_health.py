"""Forecasts, forecast skill and exchange health through the API on the real InfluxDB, for the trader and the admin.

Seeds its own symbol and exchanges in the session's crypto bucket, made by the production code as the
flows make them: 40 minute closes of a random walk through the real forecaster (rules.crypto.forecast)
written as ``forecast_point`` / ``skill_point``, and the Exchange health page's four exchanges run through
the real rule (tests/dashboard/seed_exchange_health.py). The answers must equal what that code produced.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from contracts.forecast import ForecastRecord, SkillRecord
from rules.crypto.forecast import Forecaster
from settings.stack import load_stack_settings
from sinks.influx_points.forecast import forecast_point, skill_point
from tests.api.conftest import World, auth, token
from tests.dashboard.seed import delete_where, new_run_id, operator_client, write
from tests.dashboard.seed_exchange_health import OUTLIER, SeededHealth, health_points

pytestmark = pytest.mark.integration
MINUTES = 40
MODELS = ("river_bayes_linear", "drift", "random_walk")  # the skill table's order per horizon


@dataclass(frozen=True)
class Seeded:
    symbol: str
    forecasts: dict[tuple[str, str], ForecastRecord]  # (horizon, model) -> newest
    skill: dict[tuple[str, str], SkillRecord]  # (horizon, model) -> final
    health: SeededHealth


def _forecaster_output(symbol: str) -> list[ForecastRecord | SkillRecord]:
    end_bar = int(datetime.now(UTC).timestamp() // 60) - 1
    rnd, price, fc = random.Random(7), 100.0, Forecaster()
    state, out = fc.new_state(symbol), []
    for i in range(MINUTES):
        price *= math.exp(rnd.gauss(0, 5e-4))
        out += fc.add_bar(state, end_bar - MINUTES + 1 + i, price)
    return out


@pytest.fixture(scope="module")
def seeded(world: World) -> Iterator[Seeded]:
    s = load_stack_settings()
    client = operator_client(s)
    run = new_run_id()
    symbol = f"P{run}/USDT"
    out = _forecaster_output(symbol)
    health, health_pts = health_points(run, datetime.now(UTC))
    write(client, s.influx_bucket_crypto, s.influx_org,
          [forecast_point(o) if isinstance(o, ForecastRecord) else skill_point(o) for o in out] + health_pts)
    forecasts = {(f"{o.horizon_min}m", o.model): o for o in sorted((o for o in out if isinstance(o, ForecastRecord)),
                                                                   key=lambda o: o.made_at_ms)}
    skill = {(f"{o.horizon_min}m", o.model): o for o in out if isinstance(o, SkillRecord)}
    try:
        yield Seeded(symbol, forecasts, skill, health)
    finally:
        delete_where(client, s.influx_bucket_crypto, s.influx_org, f'symbol="{symbol}"')
        for exchange in health.exchanges:
            delete_where(client, s.influx_bucket_crypto, s.influx_org, f'exchange="{exchange}"')
        client.close()


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


@pytest.mark.parametrize("role", ["trader", "admin"])
def test_latest_forecast_of_each_horizon_and_model(client: TestClient, world: World, seeded: Seeded, role: str) -> None:
    r = client.get("/v1/crypto/forecasts", headers=auth(token(client, world, role)), params={"symbol": seeded.symbol})
    assert r.status_code == 200, r.text
    got = r.json()["forecasts"]
    assert [(f["horizon"], f["model"]) for f in got] == [(h, m) for h in ("1m", "5m", "15m") for m in MODELS]
    for f in got:
        want = seeded.forecasts[(f["horizon"], f["model"])]
        assert (f["symbol"], _ms(f["made_at"]), _ms(f["target_time"])) == (seeded.symbol, want.made_at_ms, want.target_time_ms)
        assert (f["predicted_price"], f["lower_price"], f["upper_price"], f["base_price"], f["predicted_return"]) == pytest.approx(
            (want.predicted_price, want.lower_price, want.upper_price, want.base_price, want.predicted_return), rel=1e-12)
    five = client.get("/v1/crypto/forecasts", headers=auth(token(client, world, role)),
                      params={"symbol": seeded.symbol, "horizon": "5m"}).json()["forecasts"]
    assert [(f["horizon"], f["model"]) for f in five] == [("5m", m) for m in MODELS]
    assert client.get("/v1/crypto/forecasts", headers=auth(token(client, world, role)),
                      params={"symbol": f"none-{seeded.symbol}"}).json() == {"forecasts": []}


@pytest.mark.parametrize("role", ["trader", "admin"])
def test_forecast_skill_equals_the_forecasters_final_skill(client: TestClient, world: World, seeded: Seeded, role: str) -> None:
    r = client.get("/v1/crypto/forecast-skill", headers=auth(token(client, world, role)), params={"symbol": seeded.symbol})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(k["horizon"], k["model"]) for k in body["skill"]] == [(h, m) for h in ("1m", "5m", "15m") for m in MODELS]
    for k in body["skill"]:
        want = seeded.skill[(k["horizon"], k["model"])]
        assert (_ms(k["time"]), k["n"], k["directional_n"], k["hits"], k["verdict"]) == (
            want.ts, want.n, want.directional_n, want.hits, want.verdict)
        for name in ("mae", "mae_random_walk", "mase", "hit_rate", "binomial_p", "dm_stat", "dm_p_better", "dm_p_worse", "coverage"):
            assert k[name] == (None if getattr(want, name) is None else pytest.approx(getattr(want, name), rel=1e-12)), name
    assert body["summary"].startswith("0 of 3 learner rows")  # a random walk: no learner row claims skill


@pytest.mark.parametrize("role", ["trader", "admin"])
def test_exchange_health_worst_first_with_reasons(client: TestClient, world: World, seeded: Seeded, role: str) -> None:
    h = seeded.health
    r = client.get("/v1/crypto/exchange-health", headers=auth(token(client, world, role)), params={"exchange": list(h.exchanges)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(e["exchange"], e["health"]) for e in body["exchanges"]] == [
        (h.failing, "failing"), (h.slow, "slow"), (h.excluded, "excluded"), (h.ok, "ok")]
    assert body["counts"] == {"stopped": 0, "failing": 1, "stale": 0, "slow": 1, "degraded": 0, "excluded": 1, "ok": 1}
    failing, slow, excluded, ok = body["exchanges"]
    assert failing["reason"] == "no quote, 4 errors (2 rate limits, 0 timeouts) in 10 s: RateLimitExceeded: 429 (simulated)"
    assert (failing["quotes"], failing["errors"], failing["rate_limits"], failing["latency_p50_ms"]) == (0, 4, 2, None)
    assert (slow["reason"], slow["latency_p50_ms"], slow["symbols_fresh"]) == (
        "median latency 3.20 s (receive - exchange time) over 2 s", 3200.0, 2)
    assert excluded["reason"] == f"HOT/USDT outlier: {OUTLIER}" and ok["reason"] == ""
    for e in body["exchanges"]:
        assert _ms(e["time"]) == h.last[e["exchange"]].window_end_ms
        assert e["health"] == h.last[e["exchange"]].health
