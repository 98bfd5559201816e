"""
### EDP session infrastructure (infra as DAGs)

Turns the platform's costly **session modes** on and off through Terraform, in the session layer's own
state — the foundation (network, lake buckets, catalog, keys, MWAA) is never touched from here, and any
plan that would delete a data-bearing resource is refused before it runs.

* **action** `up` adds the chosen **modes** (`ingestion`: RDS PostgreSQL + DMS CDC; `serving`: Redshift
  Serverless) and publishes their outputs for the pipeline (SSM `/edp-<env>/session`, and XCom);
  `down` removes the chosen modes (all when none are chosen); `scale` changes the knobs of what is on.
* **ttl_hours**: `edp_session_sweep` (every 30 minutes) tears down a session older than its TTL.

The environment is the deployment's (`EDP_ENVIRONMENT`: `local` runs against the local AWS emulator).
"""

from datetime import timedelta

from airflow.sdk import DAG, Param, task

from edp.dag_factory import START_DATE
from edp.environments import resolve_environment
from edp.operators.terraform import TerraformOperator
from edp.session import DMS_INSTANCE_CLASSES, MAX_TTL_HOURS, MODES

ENVIRONMENT = resolve_environment()
DEFAULT_ARGS = {"owner": "data-platform", "retries": 2, "retry_delay": timedelta(minutes=1),
                "execution_timeout": timedelta(minutes=10)}


@task(multiple_outputs=True)
def prepare(params=None) -> dict:
    """Read what is on from the session state and work out the Terraform variables for the action."""
    from edp import session

    return session.prepare(dict(params), ENVIRONMENT)


def terraform_apply(args) -> TerraformOperator:
    return TerraformOperator(
        task_id="terraform_apply", command="plan_and_apply", working_dir=args["working_dir"],
        variables=args["variables"], var_files=args["var_files"], backend_config=args["backend_config"],
        backend_config_files=args["backend_config_files"], env=args["env"],
        plan_file=args["plan_file"], execution_timeout=timedelta(minutes=90),
    )


@task
def publish(outputs: dict) -> dict:
    """Check the pipeline sees what Terraform made (the published parameter) and hand it to XCom."""
    from edp import session

    return session.report(outputs, ENVIRONMENT)


with DAG(
    dag_id="edp_session",
    description="Turn session modes (ingestion, serving) on, off or rescale them through Terraform.",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["edp", "infra", "session"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    params={
        "action": Param("up", type="string", enum=["up", "down", "scale"], title="Action",
                        description="up: add modes; down: remove modes (all if none chosen); scale: change knobs."),
        "modes": Param(["ingestion"], type="array", title="Modes", uniqueItems=True,
                       items={"type": "string", "enum": list(MODES)},
                       description="ingestion = RDS PostgreSQL + DMS CDC; serving = Redshift Serverless."),
        "ttl_hours": Param(8, type="number", exclusiveMinimum=0, maximum=MAX_TTL_HOURS, title="TTL (hours)",
                           description="The sweep tears the session down this long after it started."),
        "dms_instance_class": Param(None, type=["null", "string"], enum=[None, *DMS_INSTANCE_CLASSES],
                                    title="DMS instance class", description="Empty: the environment's default."),
        "glue_workers": Param(None, type=["null", "integer"], minimum=2, maximum=100, title="Glue workers",
                              description="Workers per Glue job run the pipeline asks for. Empty: the default."),
        "redshift_base_capacity": Param(None, type=["null", "integer"], minimum=8, maximum=512, multipleOf=8,
                                        title="Redshift base RPUs", description="Empty: the environment's default."),
    },
):
    args = prepare()
    apply = terraform_apply(args)
    publish(apply.output)


with DAG(
    dag_id="edp_session_sweep",
    description="Cost guard: tear down a session that has outlived its TTL.",
    schedule="*/30 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["edp", "infra", "session", "cost-guard"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    params={"action": Param("down", type="string", const="down"), "modes": Param([], type="array", maxItems=0)},
):
    @task.short_circuit
    def session_expired() -> bool:
        from edp import session

        return session.expired(ENVIRONMENT)

    args = prepare()
    apply = terraform_apply(args)
    session_expired() >> args >> apply
    publish(apply.output)
