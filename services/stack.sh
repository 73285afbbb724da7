#!/usr/bin/env bash
# ticktrack's local stack: Mosquitto, Kafka (KRaft), InfluxDB 2.x, VictoriaLogs (logs),
# Prometheus + Alertmanager (metrics, alert rules) and the ops exporter (consumer lag, Mosquitto
# $SYS), installed from package registries, started as plain processes, checked, and stopped by
# pid. No Docker needed.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: services/stack.sh <command> [service...]

Commands:
  up       install what is missing, start, wait until each service answers, write var/stack.env
  down     stop the processes this script started (by pid)
  status   show each service: pid, port, answering or not
  help     this text

Services (default: mosquitto kafka influxdb victorialogs alertmanager prometheus ops-exporter):
  mosquitto kafka influxdb victorialogs alertmanager prometheus ops-exporter kafka-cluster

Environment (defaults in brackets):
  TICKTRACK_VAR            data, logs, pids, stack.env                  [<repo>/var]
  TICKTRACK_CACHE          built binaries and jars, keyed by version     [~/.cache/ticktrack]
  TICKTRACK_PYTHON         Python with the project installed             [<repo>/.venv/bin/python]
  MQTT_PORT [1883]  KAFKA_PORT [9092]  KAFKA_CONTROLLER_PORT [9093]  INFLUX_PORT [8086]
  KAFKA_VERSION [4.1.1]  INFLUXDB_VERSION [v2.9.1]
  KAFKA_NODES [3]          nodes of the kafka-cluster service (fault tests; not started by default)
  FLEET_RETENTION_DAYS [90]  CRYPTO_RETENTION_DAYS [30]   bucket retention, applied on every up
  MQTT_AUTH [off]          on = passwords + ACL (devices publish only to fleet/<own id>/telemetry);
                           add devices with services/mqtt_device.sh add <vehicle_id>
  MQTT_SERVICE_PORT [MQTT_PORT+1]  with MQTT_AUTH=on: the listener of service accounts (ingest);
                           devices use MQTT_PORT, where the client id is forced to the user name
  LOGS_PORT [9428]  VICTORIALOGS_VERSION [v1.52.2]  LOGS_RETENTION_DAYS [14]   VictoriaLogs
  PROMETHEUS_PORT [9090]  ALERTMANAGER_PORT [9095]  OPS_EXPORTER_PORT [9200]
  PROMETHEUS_RETENTION_DAYS [15]  ALERT_WEBHOOK_URL [http://127.0.0.1:$OPS_EXPORTER_PORT/alertmanager]
                           where Alertmanager posts firing rules (the ops exporter hands them to
                           the notifier's recipients through the alerts topic, docs/operations.md)
USAGE
}

repo="$(cd "$(dirname "$0")/.." && pwd)"
here="$repo/services"
VAR="${TICKTRACK_VAR:-$repo/var}"
CACHE="${TICKTRACK_CACHE:-$HOME/.cache/ticktrack}"
PY="${TICKTRACK_PYTHON:-$repo/.venv/bin/python}"
HOST=127.0.0.1
MQTT_PORT="${MQTT_PORT:-1883}"
MQTT_AUTH="${MQTT_AUTH:-off}"
MQTT_SERVICE_PORT="${MQTT_SERVICE_PORT:-$((MQTT_PORT + 1))}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
INFLUX_PORT="${INFLUX_PORT:-8086}"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_NODES="${KAFKA_NODES:-3}"
export INFLUXDB_VERSION="${INFLUXDB_VERSION:-v2.9.1}"
export FLEET_RETENTION_DAYS="${FLEET_RETENTION_DAYS:-90}" CRYPTO_RETENTION_DAYS="${CRYPTO_RETENTION_DAYS:-30}"
LOGS_PORT="${LOGS_PORT:-9428}"
export VICTORIALOGS_VERSION="${VICTORIALOGS_VERSION:-v1.52.2}"
LOGS_RETENTION_DAYS="${LOGS_RETENTION_DAYS:-14}"
PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
ALERTMANAGER_PORT="${ALERTMANAGER_PORT:-9095}"
OPS_EXPORTER_PORT="${OPS_EXPORTER_PORT:-9200}"
PROMETHEUS_RETENTION_DAYS="${PROMETHEUS_RETENTION_DAYS:-15}"
ALERT_WEBHOOK_URL="${ALERT_WEBHOOK_URL:-http://$HOST:$OPS_EXPORTER_PORT/alertmanager}"

say() { echo "[stack] $*" >&2; }
die() { echo "[stack] ERROR: $*" >&2; exit 1; }

pidfile() { echo "$VAR/run/$1.pid"; }
running() { local f; f="$(pidfile "$1")"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

# Start "$@" detached, its output appended to var/logs/<name>.out, pid in var/run/<name>.pid.
spawn() {
  local name="$1"; shift
  setsid nohup "$@" >> "$VAR/logs/$name.out" 2>&1 < /dev/null &
  echo $! > "$(pidfile "$name")"
}

need_python() {
  [ -x "$PY" ] || die "no Python with the project at $PY - run 'make install' first (or set TICKTRACK_PYTHON)"
}

# ---------------------------------------------------------------- mosquitto
install_mosquitto() {
  command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] && return 0
  say "installing mosquitto (Debian package)"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto; } \
    > "$VAR/logs/apt-mosquitto.log" 2>&1 || die "apt-get install mosquitto failed - see $VAR/logs/apt-mosquitto.log"
}

# MQTT_AUTH=on: no anonymous clients, two listeners with their own password files and ACLs.
# Devices (user = vehicle id) connect to MQTT_PORT, where mosquitto replaces the client id with the
# user name, so no device can claim another client's id or persistent session; they may publish only
# to their own topic. Service accounts (the ingest) connect to MQTT_SERVICE_PORT, which device
# passwords do not open. Passwords never appear on a command line: mosquitto_passwd -U hashes a
# plain file that was created mode 600 (umask 077) before the secret was written into it.
# $1 = the generated mosquitto.conf, made per-listener and extended in place.
mqtt_auth_config() {
  local conf="$1" dir="$VAR/mosquitto" secret="$VAR/mosquitto/ingest.secret"
  local devices="$dir/passwd" services="$dir/services.passwd"
  (
    umask 077
    [ -f "$secret" ] || head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$secret"
    [ -f "$devices" ] || : > "$devices"
    # Earlier layouts kept the ingest account in the device file; a device file holds devices only.
    if grep -q '^ticktrack-ingest:' "$devices"; then mosquitto_passwd -D "$devices" ticktrack-ingest > /dev/null; fi
    rm -f "$services.new"
    printf 'ticktrack-ingest:%s\n' "$(cat "$secret")" > "$services.new"
    mosquitto_passwd -U "$services.new" || { rm -f "$services.new"; exit 1; }
    mv "$services.new" "$services"
  ) || die "writing the mosquitto password files failed"
  sed -i 's/^per_listener_settings false$/per_listener_settings true/' "$conf"
  {
    echo "# MQTT_AUTH=on (services/stack.sh): the listener above is the devices' one"
    printf 'allow_anonymous false\nuse_username_as_clientid true\npassword_file %s\nacl_file %s\n' \
      "$devices" "$here/mosquitto/acl.conf"
    echo "# service accounts (the ingest): own listener, password file and ACL"
    printf 'listener %s %s\nallow_anonymous false\npassword_file %s\nacl_file %s\n' \
      "$MQTT_SERVICE_PORT" "$HOST" "$services" "$here/mosquitto/services.acl"
  } >> "$conf"
}

up_mosquitto() {
  install_mosquitto
  if running mosquitto; then say "mosquitto already running (pid $(cat "$(pidfile mosquitto)"))"; else
    mkdir -p "$VAR/mosquitto/data"
    sed -e "s#@VAR@#$VAR#g; s#@PORT@#$MQTT_PORT#g; s#@HOST@#$HOST#g; s#@USER@#$(id -un)#g" "$here/mosquitto/mosquitto.conf.tmpl" > "$VAR/mosquitto/mosquitto.conf"
    if [ "$MQTT_AUTH" = on ]; then mqtt_auth_config "$VAR/mosquitto/mosquitto.conf"; fi
    local bin; bin="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
    spawn mosquitto "$bin" -c "$VAR/mosquitto/mosquitto.conf"
    say "mosquitto started (pid $(cat "$(pidfile mosquitto)"))"
  fi
  local probe="mqtt://$HOST:$MQTT_PORT"
  [ "$MQTT_AUTH" = on ] && probe="mqtt://ticktrack-ingest:$(cat "$VAR/mosquitto/ingest.secret")@$HOST:$MQTT_SERVICE_PORT"
  # the URL may hold a password: on stdin, not on the command line
  printf '%s\n' "$probe" | "$PY" "$here/check_ready.py" mqtt - || die "mosquitto does not answer - see $VAR/logs/mosquitto.log"
}

# ---------------------------------------------------------------- kafka
install_kafka() {
  local libs="$CACHE/kafka-$KAFKA_VERSION/libs"
  if [ -f "$libs/.complete" ]; then return 0; fi
  say "resolving Kafka $KAFKA_VERSION jars from Maven Central into $libs"
  mkdir -p "$libs"
  mvn -q -B -f "$here/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$libs" > "$VAR/logs/kafka-install.log" 2>&1 \
    || die "resolving Kafka jars failed - see $VAR/logs/kafka-install.log"
  touch "$libs/.complete"
}

kafka_jvm() {  # sets JVM to the java command line of a Kafka tool or node; $1 = logs folder
  JVM=(java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true
       "-Dlog4j2.configurationFile=$here/kafka/log4j2.properties" "-Dkafka.logs.dir=$1" -cp "$CACHE/kafka-$KAFKA_VERSION/libs/*")
}

# A multi-node KRaft cluster on loopback (fault tests): node i listens on KAFKA_PORT+i-1,
# its controller on KAFKA_CONTROLLER_PORT+i-1; pids in var/run/kafka-<i>.pid.
up_kafka-cluster() {
  install_kafka
  local n i voters="" cid
  for i in $(seq 1 "$KAFKA_NODES"); do voters+="${voters:+,}$i@$HOST:$((KAFKA_CONTROLLER_PORT + i - 1))"; done
  for i in $(seq 1 "$KAFKA_NODES"); do
    local dir="$VAR/kafka-$i"
    mkdir -p "$dir/data" "$VAR/logs/kafka-$i"
    sed -e "s#@VAR@#$VAR#g; s#@NODE_ID@#$i#g; s#@NODES@#$KAFKA_NODES#g; s#@VOTERS@#$voters#g; s#@HOST@#$HOST#g;
            s#@PORT@#$((KAFKA_PORT + i - 1))#g; s#@CONTROLLER_PORT@#$((KAFKA_CONTROLLER_PORT + i - 1))#g" \
      "$here/kafka/cluster-node.properties.tmpl" > "$dir/server.properties"
  done
  if [ ! -f "$VAR/kafka-1/data/meta.properties" ]; then
    say "formatting $KAFKA_NODES Kafka nodes (KRaft, static voters)"
    kafka_jvm "$VAR/logs"
    cid="$("${JVM[@]}" kafka.tools.StorageTool random-uuid 2>>"$VAR/logs/kafka-format.log")"
    for i in $(seq 1 "$KAFKA_NODES"); do
      "${JVM[@]}" kafka.tools.StorageTool format -t "$cid" -c "$VAR/kafka-$i/server.properties" \
        >> "$VAR/logs/kafka-format.log" 2>&1 || die "formatting Kafka node $i failed - see $VAR/logs/kafka-format.log"
    done
  fi
  for i in $(seq 1 "$KAFKA_NODES"); do
    if running "kafka-$i"; then continue; fi
    kafka_jvm "$VAR/logs/kafka-$i"
    spawn "kafka-$i" "${JVM[@]}" kafka.Kafka "$VAR/kafka-$i/server.properties"
    say "kafka node $i started (pid $(cat "$(pidfile "kafka-$i")"))"
  done
  "$PY" "$here/check_ready.py" kafka "$HOST:$KAFKA_PORT" || die "kafka cluster does not answer - see $VAR/logs/kafka-*/"
}

up_kafka() {
  install_kafka
  local dir="$VAR/kafka"
  if running kafka; then say "kafka already running (pid $(cat "$(pidfile kafka)"))"; else
    mkdir -p "$dir/data"
    sed -e "s#@VAR@#$VAR#g; s#@PORT@#$KAFKA_PORT#g; s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g; s#@HOST@#$HOST#g" \
      "$here/kafka/server.properties.tmpl" > "$dir/server.properties"
    kafka_jvm "$VAR/logs"
    local jvm=("${JVM[@]}")
    if [ ! -f "$dir/data/meta.properties" ]; then
      say "formatting Kafka storage (KRaft, standalone controller)"
      local cid; cid="$("${jvm[@]}" kafka.tools.StorageTool random-uuid 2>>"$VAR/logs/kafka-format.log")"
      "${jvm[@]}" kafka.tools.StorageTool format --standalone -t "$cid" -c "$dir/server.properties" \
        >> "$VAR/logs/kafka-format.log" 2>&1 || die "formatting Kafka storage failed - see $VAR/logs/kafka-format.log"
    fi
    spawn kafka "${jvm[@]}" kafka.Kafka "$dir/server.properties"
    say "kafka started (pid $(cat "$(pidfile kafka)"))"
  fi
  "$PY" "$here/check_ready.py" kafka "$HOST:$KAFKA_PORT" || die "kafka does not answer - see $VAR/logs/kafka.log and $VAR/logs/kafka.out"
}

# ---------------------------------------------------------------- influxdb
up_influxdb() {
  local bin
  if [ ! -x "$CACHE/influxd-$INFLUXDB_VERSION/bin/influxd" ]; then
    say "building influxd $INFLUXDB_VERSION once (15-30 min on 2 cores); cached in $CACHE"
  fi
  bin="$("$here/influxdb/build.sh" "$CACHE")" || die "building influxd failed - see $CACHE/influxd-$INFLUXDB_VERSION/build.log"
  local dir="$VAR/influxdb"
  if running influxdb; then say "influxdb already running (pid $(cat "$(pidfile influxdb)"))"; else
    mkdir -p "$dir"
    spawn influxdb "$bin" --bolt-path "$dir/influxd.bolt" --engine-path "$dir/engine" --sqlite-path "$dir/influxd.sqlite" \
      --http-bind-address "$HOST:$INFLUX_PORT" --reporting-disabled --log-level warn
    say "influxdb started (pid $(cat "$(pidfile influxdb)"))"
  fi
  "$PY" "$here/check_ready.py" influxdb "http://$HOST:$INFLUX_PORT" "$dir/credentials.env" \
    || die "influxdb does not answer or onboarding failed - see $VAR/logs/influxdb.out"
}

# ---------------------------------------------------------------- victorialogs
up_victorialogs() {
  local bin dir="$VAR/victorialogs"
  if [ ! -x "$CACHE/victorialogs-$VICTORIALOGS_VERSION/bin/victoria-logs" ]; then
    say "building victoria-logs $VICTORIALOGS_VERSION once (a few minutes on 2 cores); cached in $CACHE"
  fi
  bin="$("$here/victorialogs/build.sh" "$CACHE")" || die "building victoria-logs failed - see $CACHE/victorialogs-$VICTORIALOGS_VERSION/build.log"
  if running victorialogs; then say "victorialogs already running (pid $(cat "$(pidfile victorialogs)"))"; else
    mkdir -p "$dir"
    spawn victorialogs "$bin" -storageDataPath "$dir/data" -httpListenAddr "$HOST:$LOGS_PORT" \
      -retentionPeriod "${LOGS_RETENTION_DAYS}d" -loggerLevel WARN
    say "victorialogs started (pid $(cat "$(pidfile victorialogs)"), retention ${LOGS_RETENTION_DAYS}d)"
  fi
  "$PY" "$here/check_ready.py" http "http://$HOST:$LOGS_PORT/health" || die "victorialogs does not answer - see $VAR/logs/victorialogs.out"
}

# ---------------------------------------------------------------- prometheus, alertmanager, ops exporter
install_prometheus() {
  command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null && return 0
  say "installing prometheus and prometheus-alertmanager (Debian packages)"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus prometheus-alertmanager; } \
    > "$VAR/logs/apt-prometheus.log" 2>&1 || die "apt-get install prometheus failed - see $VAR/logs/apt-prometheus.log"
}

up_alertmanager() {
  install_prometheus
  local dir="$VAR/alertmanager"
  if running alertmanager; then say "alertmanager already running (pid $(cat "$(pidfile alertmanager)"))"; else
    mkdir -p "$dir/data"
    sed -e "s#@WEBHOOK_URL@#$ALERT_WEBHOOK_URL#g" "$here/prometheus/alertmanager.yml.tmpl" > "$dir/alertmanager.yml"
    spawn alertmanager prometheus-alertmanager --config.file "$dir/alertmanager.yml" --storage.path "$dir/data" \
      --web.listen-address "$HOST:$ALERTMANAGER_PORT" --cluster.listen-address "" --log.level warn
    say "alertmanager started (pid $(cat "$(pidfile alertmanager)"))"
  fi
  "$PY" "$here/check_ready.py" http "http://$HOST:$ALERTMANAGER_PORT/-/ready" || die "alertmanager does not answer - see $VAR/logs/alertmanager.out"
}

up_prometheus() {
  install_prometheus
  local dir="$VAR/prometheus"
  mkdir -p "$dir/data" "$dir/targets"
  sed -e "s#@VAR@#$VAR#g; s#@HOST@#$HOST#g; s#@INFLUX_PORT@#$INFLUX_PORT#g; s#@LOGS_PORT@#$LOGS_PORT#g;
          s#@ALERTMANAGER_PORT@#$ALERTMANAGER_PORT#g; s#@OPS_EXPORTER_PORT@#$OPS_EXPORTER_PORT#g; s#@PROMETHEUS_PORT@#$PROMETHEUS_PORT#g; s#@HERE@#$here#g" \
    "$here/prometheus/prometheus.yml.tmpl" > "$dir/prometheus.yml"
  promtool check config "$dir/prometheus.yml" > "$VAR/logs/promtool.log" 2>&1 || die "prometheus config invalid - see $VAR/logs/promtool.log"
  if running prometheus; then
    kill -HUP "$(cat "$(pidfile prometheus)")"  # reload the (possibly changed) config and rules
    say "prometheus already running (pid $(cat "$(pidfile prometheus)")), config reloaded"
  else
    spawn prometheus prometheus --config.file "$dir/prometheus.yml" --storage.tsdb.path "$dir/data" \
      --storage.tsdb.retention.time "${PROMETHEUS_RETENTION_DAYS}d" --web.listen-address "$HOST:$PROMETHEUS_PORT" --log.level warn
    say "prometheus started (pid $(cat "$(pidfile prometheus)"))"
  fi
  "$PY" "$here/check_ready.py" http "http://$HOST:$PROMETHEUS_PORT/-/ready" || die "prometheus does not answer - see $VAR/logs/prometheus.out"
}

up_ops-exporter() {
  need_python
  if running ops-exporter; then say "ops-exporter already running (pid $(cat "$(pidfile ops-exporter)"))"; else
    ( cd "$repo" && TICKTRACK_STACK_ENV="$VAR/stack.env" OPS_EXPORTER_PORT="$OPS_EXPORTER_PORT" MQTT_URL="mqtt://$HOST:$MQTT_PORT" \
        KAFKA_BOOTSTRAP="$HOST:$KAFKA_PORT" spawn ops-exporter "$PY" -m jobs.ops_exporter )
    say "ops-exporter started (pid $(cat "$(pidfile ops-exporter)"))"
  fi
  "$PY" "$here/check_ready.py" http "http://$HOST:$OPS_EXPORTER_PORT/metrics" || die "ops-exporter does not answer - see $VAR/logs/ops-exporter.out"
}

# ---------------------------------------------------------------- commands
write_env() {
  local mask; mask="$(umask)"
  umask 077  # the file holds tokens: mode 600 from its creation on (a left-over .tmp would keep its mode)
  rm -f "$VAR/stack.env.tmp"
  {
    echo "# written by services/stack.sh up - connection settings of the local stack"
    if [ "$MQTT_AUTH" = on ]; then
      echo "MQTT_URL=mqtt://ticktrack-ingest:$(cat "$VAR/mosquitto/ingest.secret")@$HOST:$MQTT_SERVICE_PORT"
    else
      echo "MQTT_URL=mqtt://$HOST:$MQTT_PORT"
    fi
    echo "KAFKA_BOOTSTRAP=$HOST:$KAFKA_PORT"
    echo "INFLUX_URL=http://$HOST:$INFLUX_PORT"
    echo "LOGS_URL=http://$HOST:$LOGS_PORT"
    echo "PROMETHEUS_URL=http://$HOST:$PROMETHEUS_PORT"
    [ -f "$VAR/influxdb/credentials.env" ] && cat "$VAR/influxdb/credentials.env"
  } > "$VAR/stack.env.tmp"
  umask "$mask"
  mv "$VAR/stack.env.tmp" "$VAR/stack.env"
  say "connection settings written to $VAR/stack.env"
}

cmd_up() {
  need_python
  mkdir -p "$VAR/logs" "$VAR/run"
  local s
  for s in "$@"; do "up_$s"; done
  write_env
  for s in "$@"; do
    if [ "$s" = kafka ]; then "$PY" "$here/check_ready.py" topics "$HOST:$KAFKA_PORT" || die "creating the project's topics failed"; fi
  done
  say "up: $*"
}

cluster_nodes() { local i; for i in $(seq 1 "$KAFKA_NODES"); do echo "kafka-$i"; done; }

cmd_down() {
  local s f pid names=()
  for s in "$@"; do
    if [ "$s" = kafka-cluster ]; then mapfile -t -O "${#names[@]}" names < <(cluster_nodes); else names+=("$s"); fi
  done
  for s in "${names[@]}"; do
    f="$(pidfile "$s")"
    if ! running "$s"; then say "$s not running"; rm -f "$f"; continue; fi
    pid="$(cat "$f")"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then say "$s did not stop in 30 s, killing"; kill -KILL "$pid"; fi
    rm -f "$f"
    say "$s stopped (pid $pid)"
  done
}

cmd_status() {
  local s port n
  for s in "$@"; do
    case "$s" in mosquitto) port=$MQTT_PORT;; kafka) port=$KAFKA_PORT;; influxdb) port=$INFLUX_PORT;;
      victorialogs) port=$LOGS_PORT;; prometheus) port=$PROMETHEUS_PORT;; alertmanager) port=$ALERTMANAGER_PORT;;
      ops-exporter) port=$OPS_EXPORTER_PORT;;
      kafka-cluster) for n in $(cluster_nodes); do
                       if running "$n"; then echo "$n: running, pid $(cat "$(pidfile "$n")")"; else echo "$n: stopped"; fi
                     done; continue;; esac
    if running "$s"; then echo "$s: running, pid $(cat "$(pidfile "$s")"), port $port"; else echo "$s: stopped"; fi
  done
}

main() {
  local cmd="${1:-help}"; shift || true
  local services=("$@")
  [ ${#services[@]} -gt 0 ] || services=(mosquitto kafka influxdb victorialogs alertmanager prometheus ops-exporter)
  for s in "${services[@]}"; do
    case "$s" in mosquitto|kafka|influxdb|victorialogs|alertmanager|prometheus|ops-exporter|kafka-cluster) ;;
      *) die "unknown service '$s' (mosquitto, kafka, influxdb, victorialogs, alertmanager, prometheus, ops-exporter, kafka-cluster)";; esac
  done
  case "$cmd" in
    up) cmd_up "${services[@]}";;
    down) cmd_down "${services[@]}";;
    status) cmd_status "${services[@]}";;
    help|-h|--help) usage;;
    *) usage; exit 2;;
  esac
}
main "$@"
