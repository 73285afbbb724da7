#!/usr/bin/env bash
# Run the whole platform on simulated inputs: every dataflow, the simulators and the dashboard.
# Expects the services to be up (`make demo` does that first). Ctrl-C stops everything started here.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
PY=.venv/bin/python
DEMO_VEHICLES="${DEMO_VEHICLES:-20}"
DASHBOARD_PORT="${DASHBOARD_PORT:-8501}"

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  cat <<USAGE
Usage: scripts/demo.sh     (or: make demo)
Starts the fleet and crypto dataflows, the vehicle and market simulators and the dashboard
(http://127.0.0.1:$DASHBOARD_PORT). Logs: var/logs/demo-*.log. Ctrl-C stops all of them.
Environment: DEMO_VEHICLES [20], DASHBOARD_PORT [8501], plus every setting in docs/configuration.md.
USAGE
  exit 0
fi

mkdir -p var/logs var/recovery
pids=()
start() {  # start <name> <command...>
  local name="$1"; shift
  "$@" >> "var/logs/demo-$name.log" 2>&1 &
  pids+=($!)
  echo "[demo] $name started (pid $!, log var/logs/demo-$name.log)"
}
stop_all() {
  echo "[demo] stopping..."
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait || true
}
trap stop_all EXIT INT TERM

start ingest $PY -m bytewax.run "dataflows.fleet_ingest:build_flow()" -w 2
start store $PY -m bytewax.run "dataflows.fleet_store:build_flow()"
start vehicles $PY -m simulators.publish_vehicles --vehicles "$DEMO_VEHICLES"
start collector $PY -m collectors.ccxt_collector --simulated yes --out kafka
start crypto $PY -m bytewax.run "dataflows.crypto_prices:build_flow()"
echo "[demo] running; Ctrl-C to stop"
wait
