"""Operations (admins only): flows up / down with throughput and lag, dead letters, sink retries,
service health, the rules firing, and a LogsQL search of every process's log lines."""

from __future__ import annotations

import urllib.parse

import streamlit as st

from dashboard import ops_data
from dashboard.session import require_page
from settings import topics

require_page("admin")
st.title("Operations")
st.caption("Live from Prometheus (scraped every 5 s) and VictoriaLogs; what each figure means: docs/operations.md.")


def shown(what: str, read):  # type: ignore[no-untyped-def]
    """Run one read; on a service that does not answer, say which and carry on with the page."""
    try:
        return read()
    except ops_data.OpsUnavailable as exc:
        st.error(f"{what}: {exc}")
        return None


# --- flows
st.subheader("Flows")
flows = shown("Flows", ops_data.flows)
if flows is not None:
    if flows.empty:
        st.info("No ticktrack process has registered with Prometheus (start them with METRICS_PORT, as make demo does).")
    else:
        down = flows[flows["up"] == "DOWN"]
        cols = st.columns(3)
        cols[0].metric("processes up", f"{int((flows['up'] == 'up').sum())} / {len(flows)}")
        cols[1].metric("records in / s", f"{flows['in/s'].sum():,.1f}")
        lag = shown("Lag", lambda: ops_data.frame("sum(ticktrack:consumer_lag)", [], "lag"))
        cols[2].metric("lag (records)", f"{lag['lag'].sum():,.0f}" if lag is not None else "?")
        for name in down["flow"]:
            st.error(f"{name} is down")
        st.dataframe(flows, key="ops_flows", hide_index=True)

# --- alerts firing
st.subheader("Alert rules firing")
alerts = shown("Alerts", ops_data.firing_alerts)
if alerts is not None:
    if not alerts:
        st.success("No rule is firing.")
    for a in alerts:
        labels, notes = a.get("labels", {}), a.get("annotations", {})
        line = f"**{labels.get('alertname')}** ({a.get('state')}, {labels.get('severity', '')}): {notes.get('summary', '')}"
        if notes.get("logs"):
            q = urllib.parse.quote(notes["logs"])
            line += f" - [logs of this alert](?logs={q})"
        st.markdown(line)

# --- dead letters
st.subheader("Dead letters")
reasons = shown("Dead letters", ops_data.dead_letter_reasons)
if reasons is not None:
    if reasons.empty:
        st.success("No dead letter counted by a running flow.")
    else:
        st.dataframe(reasons, key="ops_dead_reasons", hide_index=True)
if st.toggle("Show the newest dead letters", key="ops_dead_examples"):
    examples = shown("Dead-letter examples", lambda: ops_data.dead_letter_examples([topics.FLEET_DEADLETTER, topics.CRYPTO_DEADLETTER]))
    for e in examples or []:
        st.code(f"{e.topic} <- {e.source_topic}\n{e.reason}\n{e.payload}", language=None)

# --- sinks
st.subheader("Sinks: write latency and retries")
sinks = shown("Sinks", ops_data.sink_retries)
if sinks is not None:
    st.dataframe(sinks, key="ops_sinks", hide_index=True)

# --- services
st.subheader("Services")
svc = shown("Services", ops_data.services)
if svc is not None:
    st.dataframe(svc, key="ops_services", hide_index=True)
brokers = shown("Brokers", ops_data.broker_health)
if brokers is not None:
    st.dataframe(brokers, key="ops_brokers", hide_index=True)

# --- logs
st.subheader("Logs")
st.caption('LogsQL, e.g. `level:error`, `flow:fleet_analytics vehicle_id:"v-12"`, `alert_id:"..."`, `symbol:"BTC/USDT"`.')
query = st.text_input("LogsQL query", value=st.query_params.get("logs", ""), key="ops_logs_query")
c1, c2 = st.columns([1, 3])
time_range = c1.selectbox("time range", list(ops_data.RANGES), index=1, key="ops_logs_range")
known = shown("Log services", lambda: ops_data.field_values("service", "24h")) or []
chosen = c2.multiselect("services", known, key="ops_logs_services")
result = shown("Log search", lambda: ops_data.search_logs(query, ops_data.RANGES[time_range], chosen))
if result is not None:
    st.text(f"{len(result)} lines (newest first, 200 at most)")
    st.dataframe(result, key="ops_logs_result", hide_index=True)
