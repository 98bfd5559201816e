# The front door. `make demo` and `make test` set everything up themselves.
.PHONY: help setup demo check test lint checkov bench bench-scale sfn clean

help:  ## list targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup:  ## create .venv (with the edp command) and install tools; idempotent
	@bash scripts/setup.sh

demo: setup  ## the main job: the local end-to-end pipeline on real engines
	.venv/bin/edp demo

check: setup  ## the fast tier (minutes): ruff, mypy, actionlint, terraform fmt/validate, ASL freshness, unit tests
	bash scripts/check.sh

test: setup  ## the full suite: unit, integration and system tiers, in parallel; prints its time
	bash scripts/test.sh

lint: check checkov  ## the fast tier and checkov

checkov: setup  ## checkov over terraform/ (offline)
	.edp/tools/checkov/bin/checkov -d terraform --framework terraform --skip-download --download-external-modules false --quiet --compact

bench: setup  ## parse-time and end-to-end benchmarks -> benchmarks/results/
	.venv/bin/python benchmarks/bench_local.py

bench-scale: setup  ## the scale benchmark (SIZES=100000,1000000 source rows) -> the `scale` list
	.venv/bin/python benchmarks/bench_local.py --skip-e2e --skip-merge --scale $${SIZES:-100000,1000000}

sfn: setup  ## re-render the Step Functions definition from dags/pipeline.yaml
	.venv/bin/edp sfn render

clean:  ## stop the embedded PostgreSQL and delete local state (.edp/)
	-.venv/bin/edp pg stop
	rm -rf .edp
