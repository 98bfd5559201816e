#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: system tools if missing, the .venv with the edp command,
# and the npm tools the tests use. Every README command runs this first.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
{ command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need+=(postgresql)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing system packages: ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "[setup] missing system packages: ${need[*]}; install them (Java 17, PostgreSQL server, Node.js) and re-run" >&2
    exit 1
  fi
fi

python=${EDP_PYTHON:-$(command -v python3.11 || command -v python3)}
pyver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
constraints="constraints/py${pyver}.txt"
stamp=.venv/.edp-installed
digest=$(cat pyproject.toml "$constraints" 2>/dev/null | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/edp ] || [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  echo "[setup] creating .venv with $python ($pyver)"
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  if [ -f "$constraints" ]; then
    .venv/bin/pip install -q -c "$constraints" -e '.[dev]'
  else
    echo "[setup] no $constraints: resolving without pins" >&2
    .venv/bin/pip install -q -e '.[dev]'
  fi
  echo "$digest" > "$stamp"
fi

if [ ! -x tools/asl/node_modules/.bin/asl-validator ]; then
  echo "[setup] installing asl-validator (npm)"
  (cd tools/asl && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "[setup] ready: .venv/bin/edp"
