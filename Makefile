# The front door. `make demo` and `make test` set everything up themselves.
.PHONY: help setup demo test lint bench sfn clean

help:  ## list targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup:  ## create .venv (with the edp command) and install tools; idempotent
	@bash scripts/setup.sh

demo: setup  ## the main job: the local end-to-end pipeline on real engines
	.venv/bin/edp demo

test: setup  ## every test: unit, DAG integrity, Terraform, end-to-end on real engines
	EDP_TF_PLUGIN_DIR="$$(bash scripts/find-tf-mirror.sh)" .venv/bin/python -m pytest

lint: setup  ## ruff, the Step Functions freshness check and checkov over terraform/
	.venv/bin/ruff check .
	.venv/bin/edp sfn check
	.edp/tools/checkov/bin/checkov -d terraform --framework terraform --skip-download --download-external-modules false --quiet --compact

bench: setup  ## parse-time and end-to-end benchmarks -> benchmarks/results/
	.venv/bin/python benchmarks/bench_local.py

sfn: setup  ## re-render the Step Functions definition from dags/pipeline.yaml
	.venv/bin/edp sfn render

clean:  ## stop the embedded PostgreSQL and delete local state (.edp/)
	-.venv/bin/edp pg stop
	rm -rf .edp
