#!/usr/bin/env bash
# The full suite (`make test`, `.ci/run`): every tier, the independent files in parallel (pytest-xdist, one
# file per worker: a module's fixtures stay in one process). Most integration and system tests wait on the
# AWS provider against its own emulator, so more workers than cores pays; the time is printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
EDP_TF_PLUGIN_DIR="$(bash scripts/find-tf-mirror.sh)" \
  .venv/bin/python -m pytest -n "${EDP_TEST_WORKERS:-6}" --dist loadfile --durations=25 "$@"
code=$?
echo "[test] full suite: exit $code in $(( ($(date +%s) - started) / 60 )) min $(( ($(date +%s) - started) % 60 )) s"
exit $code
