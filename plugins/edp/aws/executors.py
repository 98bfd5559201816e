"""The aws target's session steps: `ingestion_up` / `ingestion_down` around `cdc_ingest` when a run refreshes
the source (the pipeline's tasks themselves are the provider's operators, rendered by their kinds).

They run the session's Terraform through `TerraformOperator`, the same plan-and-apply the edp_session DAG
runs; going down stops the DMS task first (it stops reading the slot), and the RDS instance goes with its
slot (a final snapshot is kept) while the buckets stay.
"""

from __future__ import annotations

from edp.aws import calls
from edp.aws.names import Platform, aws_conn_id
from edp.runtime import RunContext


def _context():
    from airflow.sdk import get_current_context

    return get_current_context()


def ingestion_up(run: RunContext) -> dict:
    return _switch_session(run, "up")


def ingestion_down(run: RunContext) -> dict:
    """Stop the replication task first (it stops reading the slot), then take the session down: the RDS
    instance goes with its slot (a final snapshot is kept), the buckets stay."""
    from airflow.providers.amazon.aws.hooks.dms import DmsHook

    platform = Platform.load()
    arn = (platform.session or {}).get("dms_replication_task_arn")
    stopped = False
    if arn:
        dms = DmsHook(aws_conn_id=aws_conn_id())
        if dms.get_task_status(arn) in calls.DMS_WAIT_STATUSES:
            dms.stop_replication_task(replication_task_arn=arn)
            stopped = True
    return {**_switch_session(run, "down"), "dms_task_stopped": stopped}


def _switch_session(run: RunContext, action: str) -> dict:
    """The same plan-and-apply the edp_session DAG runs, from inside the pipeline's setup/teardown."""
    from edp import session
    from edp.operators.terraform import TerraformOperator

    environment = Platform.load().environment
    args = session.prepare({"action": action, "modes": ["ingestion"]}, environment)
    summary = args.pop("summary")
    outputs = TerraformOperator(task_id=f"ingestion_{action}_terraform", command="plan_and_apply",
                                **args).execute(_context())
    return {"action": summary, **session.report(outputs, environment)}
