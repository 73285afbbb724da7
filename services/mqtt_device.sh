#!/usr/bin/env bash
# Manage device accounts of the MQTT broker when the stack runs with MQTT_AUTH=on.
#   services/mqtt_device.sh add <vehicle_id>      prints a new password once (store it on the device)
#   services/mqtt_device.sh remove <vehicle_id>
# The broker reloads its password file (SIGHUP); the ACL lets the device publish only to
# fleet/<vehicle_id>/telemetry.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
VAR="${TICKTRACK_VAR:-$repo/var}"
passwd="$VAR/mosquitto/passwd"
cmd="${1:-}"; id="${2:-}"
if [ -z "$cmd" ] || [ -z "$id" ] || [ "$cmd" = -h ] || [ "$cmd" = --help ]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2
fi
[ -f "$passwd" ] || { echo "no $passwd: start the stack with MQTT_AUTH=on first" >&2; exit 1; }
[[ "$id" =~ ^[A-Za-z0-9_.:-]+$ ]] || { echo "vehicle id must match [A-Za-z0-9_.:-]+" >&2; exit 1; }
case "$cmd" in
  add) pw="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"; mosquitto_passwd -b "$passwd" "$id" "$pw"; echo "$pw";;
  remove) mosquitto_passwd -D "$passwd" "$id";;
  *) echo "unknown command $cmd (add, remove)" >&2; exit 2;;
esac
pidf="$VAR/run/mosquitto.pid"
[ -f "$pidf" ] && kill -HUP "$(cat "$pidf")" 2>/dev/null || true
