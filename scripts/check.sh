#!/usr/bin/env bash
# The fast tier (`make check`, pre-commit, CI on every pull request): ruff, mypy on the shipped package,
# actionlint on the workflows, the Step Functions definition's freshness, terraform fmt and validate of both
# roots, and the unit tests. Minutes, not the full suite's tens of minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { echo "[check] $*"; }

step "ruff";            .venv/bin/ruff check .
step "mypy plugins/edp"; .venv/bin/mypy plugins/edp
step "actionlint";      .venv/bin/actionlint
step "edp sfn check";   .venv/bin/edp sfn check >/dev/null
step "terraform fmt";   terraform fmt -recursive -check terraform tests/fixtures/terraform
plugin_dir=$(bash scripts/find-tf-mirror.sh)
for layer in foundation session; do
  step "terraform validate stacks/$layer"
  data="$PWD/.edp/check/terraform-$layer"
  mkdir -p "$data"
  TF_DATA_DIR="$data" terraform -chdir="terraform/stacks/$layer" init -backend=false -input=false -no-color \
    ${plugin_dir:+-plugin-dir="$plugin_dir"} >/dev/null
  TF_DATA_DIR="$data" terraform -chdir="terraform/stacks/$layer" validate -no-color >/dev/null
  rm -f "terraform/stacks/$layer/.terraform.lock.hcl"  # made from whatever mirror this machine has
done
step "unit tests"
.venv/bin/python -m pytest -m unit -q -p no:cacheprovider -n 2
echo "[check] passed in $(( $(date +%s) - started ))s"
