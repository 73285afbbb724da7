#!/usr/bin/env bash
# Build victoria-logs (VictoriaLogs, single binary log database) from the Go module proxy into a
# versioned cache folder.
#
# Why a build: this machine reaches package registries only, and VictoriaLogs is published as a
# Go module. The first build takes a few minutes on 2 cores; later calls find the cached binary
# and return at once.
#
# Usage: services/victorialogs/build.sh <cache-dir>   -> prints the path of the victoria-logs binary
set -euo pipefail

VICTORIALOGS_VERSION="${VICTORIALOGS_VERSION:-v1.52.2}"
cache="${1:?usage: build.sh <cache-dir>}"
out="$cache/victorialogs-$VICTORIALOGS_VERSION"
bin="$out/bin/victoria-logs"

if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

mkdir -p "$out/bin"
log="$out/build.log"
: > "$log"
step() { echo "[victoria-logs build] $*" >&2; echo "== $*" >> "$log"; }
fail() { echo "[victoria-logs build] FAILED at: $1 - see $log" >&2; tail -n 30 "$log" >&2; exit 1; }

export CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$out/bin.tmp"
step "go install victoria-logs $VICTORIALOGS_VERSION (downloads modules, compiles; a few minutes on 2 cores)"
( while sleep 60; do echo "[victoria-logs build] still building..." >&2; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
go install -ldflags "-X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-logs-$VICTORIALOGS_VERSION" \
  "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@$VICTORIALOGS_VERSION" >> "$log" 2>&1 || fail "go install"
mv "$out/bin.tmp/victoria-logs" "$bin"
rmdir "$out/bin.tmp" 2>/dev/null || true
step "done: $bin"
echo "$bin"
