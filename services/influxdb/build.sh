#!/usr/bin/env bash
# Build influxd (InfluxDB 2.x OSS) from the Go module proxy into a versioned cache folder.
#
# Why a build: this machine reaches package registries only, and InfluxDB 2.x is published
# as a Go module. The first build takes 15-30 minutes on 2 cores (Flux's Rust core is
# compiled by cargo); later calls find the cached binary and return at once.
#
# Usage: services/influxdb/build.sh <cache-dir>   -> prints the path of the influxd binary
set -euo pipefail

INFLUXDB_VERSION="${INFLUXDB_VERSION:-v2.9.1}"
PKG_CONFIG_VERSION="v0.3.0"
cache="${1:?usage: build.sh <cache-dir>}"
out="$cache/influxd-$INFLUXDB_VERSION"
bin="$out/bin/influxd"
here="$(cd "$(dirname "$0")" && pwd)"

if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

command -v pkg-config >/dev/null || { echo "build.sh: Debian's pkg-config is missing (apt-get install pkg-config)" >&2; exit 1; }
mkdir -p "$out/src" "$out/bin"
log="$out/build.log"
: > "$log"
step() { echo "[influxd build] $*" >&2; echo "== $*" >> "$log"; }
fail() { echo "[influxd build] FAILED at: $1 - see $log" >&2; tail -n 30 "$log" >&2; exit 1; }

cd "$out/src"
export CGO_ENABLED=1 GOTOOLCHAIN=local GOFLAGS=-mod=mod
export RUSTUP_TOOLCHAIN=stable
# flux denies warnings; newer Rust adds warnings. The wrapper caps lints for every rustc call,
# including the host build of build scripts that RUSTFLAGS does not reach.
export RUSTC_WRAPPER="$here/rustc-cap-lints.sh"

if [ ! -f go.mod ]; then
  step "go mod init"
  go mod init local/influxd-build >> "$log" 2>&1 || fail "go mod init"
fi
step "go get influxdb $INFLUXDB_VERSION (downloads modules)"
go get "github.com/influxdata/influxdb/v2/cmd/influxd@$INFLUXDB_VERSION" \
       "github.com/influxdata/pkg-config@$PKG_CONFIG_VERSION" >> "$log" 2>&1 || fail "go get"
step "build pkg-config wrapper"
go build -o "$out/bin/pkg-config" github.com/influxdata/pkg-config >> "$log" 2>&1 || fail "build pkg-config"
step "build influxd (compiles libflux with cargo; 15-30 min on 2 cores; progress every 60 s)"
export PKG_CONFIG="$out/bin/pkg-config"
( while sleep 60; do echo "[influxd build] still building... $(wc -l < "$log") log lines, last: $(tail -n 1 "$log" | cut -c1-100)" >&2; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
go build -x -tags sqlite_foreign_keys,sqlite_json -o "$bin.tmp" github.com/influxdata/influxdb/v2/cmd/influxd >> "$log" 2>&1 || fail "build influxd"
mv "$bin.tmp" "$bin"
step "done: $bin"
echo "$bin"
