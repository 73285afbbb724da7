#!/usr/bin/env bash
# Run the whole platform on simulated inputs: every dataflow, the simulators and the dashboard.
# Expects the services to be up (`make demo` does that first). Ctrl-C stops everything started here.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
PY=.venv/bin/python
# The repo's packages come from the checkout itself, also for `streamlit run dashboard/app.py` (whose
# sys.path starts at dashboard/): an editable install made before a package was added (access/, api/)
# does not know it, and the dashboard would stop with "No module named 'access'".
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
DASHBOARD_PORT="${DASHBOARD_PORT:-8501}"
export API_HOST="${API_HOST:-127.0.0.1}" API_PORT="${API_PORT:-8000}"

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  cat <<USAGE
Usage: scripts/demo.sh     (or: make demo)
Starts the fleet and crypto dataflows, the vehicle and market simulators and the dashboard
(http://127.0.0.1:$DASHBOARD_PORT) and the API (http://$API_HOST:$API_PORT/docs, docs/api.md).
Logs: var/logs/demo-*.log. Ctrl-C stops all of them.
Environment: DASHBOARD_PORT [8501], DASHBOARD_ADDRESS [127.0.0.1], DASHBOARD_DEMO_PASSWORD [random,
printed], API_HOST [127.0.0.1], API_PORT [8000], DEMO_BACKFILL_DAYS [6: days of history published
at start], DEMO_REPORTS_DELAY_S [120: wait before the first scheduled-report check], plus every setting
in docs/configuration.md.
USAGE
  exit 0
fi

mkdir -p var/logs var/recovery
# Each process serves /metrics on its METRICS_PORT (9201-9210) and registers it with the stack's
# Prometheus (docs/operations.md); the operations page reads them back.
pids=()
start() {  # start <name> <command...>: own process group, so stopping it stops its children too
  local name="$1"; shift
  setsid "$@" >> "var/logs/demo-$name.log" 2>&1 &
  pids+=($!)
  echo "[demo] $name started (pid $!, log var/logs/demo-$name.log)"
}
stop_all() {
  # SIGTERM, not SIGINT: a non-interactive shell starts background jobs with SIGINT ignored.
  echo "[demo] stopping..."
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    alive=0
    for p in "${pids[@]}"; do kill -0 -- "-$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f var/prometheus/targets/*.json  # stopped on purpose: not "down" for Prometheus' flow-down rule
}
trap stop_all EXIT
trap "exit 130" INT TERM

# Dashboard users of the demo: hashes in var/ (never in the repo), one password for all four.
export DASHBOARD_USERS_FILE="$repo/var/dashboard-users.json"
DASHBOARD_DEMO_PASSWORD="${DASHBOARD_DEMO_PASSWORD:-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')}"
DASHBOARD_DEMO_PASSWORD="$DASHBOARD_DEMO_PASSWORD" $PY -m dashboard.users demo > /dev/null
# Every flow that reads Kafka keeps its offsets (and state) in a recovery store: a restart resumes
# where it stopped, alert ids stay the same. The ingest resumes through its persistent MQTT session.
recovery() {  # recovery <name>: the flow's recovery directory, created on the first run
  local dir="var/recovery/$1"
  [ -d "$dir" ] || { mkdir -p "$dir"; $PY -m bytewax.recovery "$dir" 1 > /dev/null; }
  echo "$dir"
}

METRICS_PORT=9201 start ingest $PY -m bytewax.run "dataflows.fleet_ingest:build_flow()" -w 2
METRICS_PORT=9202 start store $PY -m bytewax.run "dataflows.fleet_store:build_flow()" -r "$(recovery store)" -s 5 -b 0
METRICS_PORT=9203 ANALYTICS_STOPS_TOPIC=fleet.stops start analytics $PY -m bytewax.run "dataflows.fleet_analytics:build_flow()" -r "$(recovery analytics)" -s 5 -b 0
# Alert e-mails go to a local SMTP server that prints them (var/logs/demo-mailbox.log).
start mailbox $PY -u -m aiosmtpd -n -l 127.0.0.1:8025
sleep 1
NOTIFIER_RECIPIENTS_FILE=config/recipients.demo.json NOTIFIER_SMTP_HOST=127.0.0.1 NOTIFIER_SMTP_PORT=8025 \
  NOTIFIER_SMTP_TLS=none NOTIFIER_DELIVERIES_DB=var/notifier/demo-deliveries.sqlite NOTIFIER_GROUP_ID=ticktrack-notifier-demo \
  METRICS_PORT=9204 start notifier $PY -m notifier
# Every registry vehicle drives a scripted scenario, so every alert type shows up; repeated. The
# selection `demo` (simulators/scenario_plan.py DEMO_SELECTION) starts each van's round on a trip,
# so every active vehicle is on the road in the first minute.
# First the last days' history (the same drives, each round ending 1..DEMO_BACKFILL_DAYS days ago, published
# at once through the real pipeline), so trips, daily scores and reports have data from the first minute.
DEMO_BACKFILL_DAYS="${DEMO_BACKFILL_DAYS:-6}"
start vehicles bash -c "for d in \$(seq $DEMO_BACKFILL_DAYS -1 1); do $PY -m simulators.publish_vehicles --scenario demo --speedup 0 \
  --ends-ago \$((d * 86400)) --client-id ticktrack-backfill; done; while true; do $PY -m simulators.publish_vehicles --scenario demo; sleep 5; done"
# Yesterday's fleet report to the demo manager (config/recipients.demo.json 'reports', docs/reports.md), by e-mail to
# the same mailbox, once a day (delivery log var/reports/demo-deliveries.sqlite); the first check waits for the backfill.
DEMO_REPORTS_DELAY_S="${DEMO_REPORTS_DELAY_S:-120}"
NOTIFIER_SMTP_HOST=127.0.0.1 NOTIFIER_SMTP_PORT=8025 NOTIFIER_SMTP_TLS=none REPORTS_RECIPIENTS_FILE=config/recipients.demo.json \
  REPORTS_DELIVERIES_DB=var/reports/demo-deliveries.sqlite \
  start reports bash -c "sleep $DEMO_REPORTS_DELAY_S; exec $PY -m jobs.fleet_report_schedule --every-s 300"
# okx answers 3 s late and bybit fails every request, so the Exchange health page shows them (docs/exchange-health.md).
METRICS_PORT=9205 start collector $PY -m collectors.ccxt_collector --simulated yes --out kafka --simulate-slow okx:3 --simulate-failing bybit
METRICS_PORT=9206 start crypto $PY -m bytewax.run "dataflows.crypto_prices:build_flow()" -r "$(recovery crypto)" -s 5 -b 0
METRICS_PORT=9207 start crypto-store $PY -m bytewax.run "dataflows.crypto_store:build_flow()" -r "$(recovery crypto-store)" -s 5 -b 0
# The demo trader's wallet (docs/wallets.md): seeded through the production CSV import (every row has a
# ref, so a second demo adds nothing), valued every minute from the live spreads into InfluxDB.
$PY -m jobs.wallet_import csv --owner trader --file config/wallets.demo.csv --create-accounts 2>> var/logs/demo-wallet-import.log
start wallet-valuation $PY -m jobs.wallet_valuation
# Walk-forward forecasts of each symbol's mid with their skill against the random walk (docs/forecasts.md).
METRICS_PORT=9208 start forecasts $PY -m bytewax.run "dataflows.crypto_forecasts:build_flow()" -r "$(recovery crypto-forecasts)" -s 5 -b 0
# Per-exchange health windows from quotes, the collector's status records and the spreads' exclusions.
METRICS_PORT=9219 start exchange-health $PY -m bytewax.run "dataflows.crypto_exchange_health:build_flow()" -r "$(recovery crypto-health)" -s 5 -b 0
# Loopback only unless DASHBOARD_ADDRESS says otherwise (e.g. 0.0.0.0 behind a TLS proxy).
METRICS_PORT=9209 start dashboard .venv/bin/streamlit run dashboard/app.py --server.address "${DASHBOARD_ADDRESS:-127.0.0.1}" \
  --server.port "$DASHBOARD_PORT" --server.headless true --browser.gatherUsageStats false
# The integrators' API: the same users and data scopes as the dashboard (docs/api.md).
METRICS_PORT=9210 start api $PY -m api
cat <<INFO
[demo] running; Ctrl-C to stop.
[demo] dashboard: http://127.0.0.1:$DASHBOARD_PORT - users admin, manager, parent, trader; password: $DASHBOARD_DEMO_PASSWORD
[demo] API: http://$API_HOST:$API_PORT/docs - same users (POST /v1/oauth/token, docs/api.md)
INFO
wait
