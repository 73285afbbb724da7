#!/usr/bin/env bash
# Manage device accounts of the MQTT broker when the stack runs with MQTT_AUTH=on.
#   services/mqtt_device.sh add <vehicle_id>      prints a new password once (store it on the device)
#   services/mqtt_device.sh remove <vehicle_id>
# The broker reloads its password file (SIGHUP); the ACL lets the device publish only to
# fleet/<vehicle_id>/telemetry. Names of service accounts (ticktrack-*, admin, ...) are refused.
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
# Service and administrator names, compared case-insensitively: a device named like one would
# share its name in logs and ACLs, and the ticktrack- prefix is where service accounts live.
lower="${id,,}"
case "$lower" in
  ticktrack-*|ticktrack|admin|administrator|root|mosquitto|operator|service|ingest|'$sys'*)
    echo "'$id' is a reserved name (service accounts: ticktrack-*, admin, root, mosquitto, operator, service, ingest)" >&2
    exit 1;;
esac

# Rewrite the file under a lock, atomically: new file mode 600 from creation (umask 077), the
# password reaches mosquitto_passwd -U through a plain file, never through a command line.
replace_entry() {  # replace_entry <id> [password]: drop <id>'s line, append its new hash if given
  local dir; dir="$(dirname "$passwd")"
  mkdir -p "$VAR/run"
  (
    umask 077
    flock 9
    local plain="$dir/.$1.plain" new="$passwd.new"
    rm -f "$plain" "$new"
    awk -F: -v u="$1" '$1 != u' "$passwd" > "$new"
    if [ -n "${2:-}" ]; then
      printf '%s:%s\n' "$1" "$2" > "$plain"
      mosquitto_passwd -U "$plain" >&2 || { rm -f "$plain" "$new"; exit 1; }
      cat "$plain" >> "$new"
      rm -f "$plain"
    fi
    mv "$new" "$passwd"
  ) 9> "$VAR/run/mosquitto-passwd.lock"
}

case "$cmd" in
  add) pw="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"; replace_entry "$id" "$pw"; echo "$pw";;
  remove)
    awk -F: -v u="$id" '$1 == u {found=1} END {exit !found}' "$passwd" || { echo "no device '$id'" >&2; exit 1; }
    replace_entry "$id";;
  *) echo "unknown command $cmd (add, remove)" >&2; exit 2;;
esac
pidf="$VAR/run/mosquitto.pid"
[ -f "$pidf" ] && kill -HUP "$(cat "$pidf")" 2>/dev/null || true
