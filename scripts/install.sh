#!/usr/bin/env bash
# Install what ticktrack needs on a fresh Debian machine: system packages (apt) and the
# Python environment (.venv with the project and its pinned dependencies). Idempotent.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
PYTHON="${PYTHON:-python3}"
APT_PACKAGES=(mosquitto pkg-config chromium chromium-driver)

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  echo "Usage: scripts/install.sh [--venv-only]  - apt packages (${APT_PACKAGES[*]}) and .venv with the project"
  echo "       --venv-only: only the .venv (no apt-get, no root), e.g. for make test-unit"
  exit 0
fi
venv_only=no
[ "${1:-}" = "--venv-only" ] && venv_only=yes

missing=()
[ "$venv_only" = yes ] || for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install] apt-get install ${missing[*]}" >&2
  mkdir -p var/logs
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; } > var/logs/apt.log 2>&1 \
    || { echo "[install] apt-get failed - see var/logs/apt.log" >&2; tail -n 20 var/logs/apt.log >&2; exit 1; }
fi

if [ ! -x .venv/bin/python ]; then
  echo "[install] creating .venv with $($PYTHON --version)" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[install] pip install -e .[test] (pinned in pyproject.toml)" >&2
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  touch "$stamp"
fi
echo "[install] ok" >&2
