"""
### Fresh Gold: scheduled on the pipeline's Gold marts, not on a clock

Runs once every Gold mart `edp_pipeline` builds has a new version: the dbt task that rebuilt a mart
declares it as an outlet (an Airflow Asset, named from dbt's manifest through `dags/assets.json`), and
this DAG's schedule is those Assets. Hang what consumes fresh Gold here (an export, a dashboard's cache);
its one task names the marts and the pipeline runs that produced them.
"""

import os
from pathlib import Path

from edp.dag_factory import build_gold_consumer_dag
from edp.spec import load_spec

dag = build_gold_consumer_dag(load_spec(os.environ.get("EDP_TASK_LIST") or Path(__file__).with_name("pipeline.yaml")),
                              doc_md=__doc__)
