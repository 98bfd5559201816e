"""
### EDP nightly lakehouse pipeline (Airflow DAG)

PostgreSQL CDC → Bronze (DMS parquet) → Silver (Glue PySpark, one mapped task per table)
→ catalog (Glue crawler) → Gold (dbt) → quality gate → serving load and published artifacts (dbt docs,
manifest, run results, run report).

Built from `dags/pipeline.yaml`, the same task list the Step Functions definition is rendered from. The
deployment's target (`EDP_TARGET`) decides what runs each task: the amazon provider's operators on `aws`,
this machine's engines on `local`.
"""

import os
from pathlib import Path

from edp.dag_factory import build_dag
from edp.spec import load_spec

# the target (local or aws) is the deployment's: EDP_TARGET, which MWAA's startup script exports;
# EDP_TASK_LIST renders another task list (a team's own, or a test's) instead of the shipped one
dag = build_dag(load_spec(os.environ.get("EDP_TASK_LIST") or Path(__file__).with_name("pipeline.yaml")), doc_md=__doc__)
