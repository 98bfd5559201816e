"""
### EDP nightly lakehouse pipeline (Airflow DAG)

PostgreSQL CDC → Bronze (DMS parquet) → Silver (Glue PySpark, one mapped task per table)
→ catalog (Glue crawler) → Gold (dbt) → published artifacts (dbt docs, manifest, run results, run report).

Built from `dags/pipeline.yaml`, the same task list the Step Functions definition is rendered
from. Trigger with **target** `local` to run every task on this machine's embedded engines.
"""

import os
from pathlib import Path

from edp.dag_factory import build_dag
from edp.spec import load_spec

dag = build_dag(
    load_spec(Path(__file__).with_name("pipeline.yaml")),
    doc_md=__doc__,
    default_target=os.environ.get("EDP_TARGET", "local"),
)
