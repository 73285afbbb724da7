"""Forecasts: the walk-forward skill of every model next to the random walk, with the plain verdict."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from access.forecast_reads import skill_summary, skill_table
from dashboard import forecast_data
from dashboard.forecast_charts import forecast_chart
from dashboard.session import require_page
from dashboard.widgets import time_range
from rules.crypto.forecast_models import BASELINES

ctx = require_page("prices")
st.title("Forecasts")
st.caption("Log-returns of the cross-exchange mid, forecast 1, 5 and 15 minutes ahead by an online learner and two "
           "baselines: the random walk (no change - the naive forecast) and drift. Every forecast is scored only after "
           "its target time, against the random walk on the same targets. MASE below 1 with a Diebold-Mariano p below "
           "0.05 is skill; anything else is not. Most price models do not beat a random walk (docs/forecasts.md).")

skill = forecast_data.latest_skill(ctx.scope, timedelta(days=7))
if skill.empty:
    st.info("No forecast scored in the last 7 days: the forecast flow scores a forecast once its target time has passed.")
    st.stop()
symbols = sorted({str(s) for s in skill["symbol"]})
symbol = st.selectbox("Symbol", ["All symbols", *symbols], key="forecasts_symbol")
chosen = None if symbol == "All symbols" else symbol
st.subheader("Skill against the random walk")
st.markdown(skill_summary(skill if chosen is None else skill[skill["symbol"] == chosen]))
st.dataframe(skill_table(skill, chosen), key="forecasts_skill", hide_index=True)

if chosen is not None:
    horizons = sorted({str(h) for h in skill[skill["symbol"] == chosen]["horizon"]}, key=lambda h: int(h.rstrip("m")))
    horizon = st.selectbox("Horizon", horizons, key="forecasts_horizon")
    start, stop = time_range("forecasts", "Last hour")
    learners = sorted({str(m) for m in skill["model"]} - set(BASELINES))
    history = forecast_data.forecast_history(ctx.scope, chosen, horizon, start, stop)
    mids = forecast_data.minute_mids(ctx.scope, chosen, start, stop)
    st.subheader(f"{chosen}, {horizon} ahead")
    if history.empty:
        st.text("No forecasts in this range.")
    else:
        st.plotly_chart(forecast_chart(mids, history, learners[0] if learners else ""), key="forecasts_chart")
