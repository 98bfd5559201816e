"""Renders the task list as an Airflow DAG (Airflow 3 task SDK, MWAA-compatible).

Every task is a thin TaskFlow task that hands its id, the run's params and
the run id to `edp.runtime.execute`; the heavy imports (Spark, dbt, psycopg2)
happen there, inside the task, never at parse time.  Edges are wired in one
function, `_wire`, from the same `Spec.edges()` the ASL renderer reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from edp.settings import PermanentError
from edp.spec import Spec, Task, topological_order

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def params_schema(spec: Spec, default_target: str, targets: tuple[str, ...]) -> dict:
    """The trigger form: each Param is a JSON schema, so the UI validates before a run exists.  The schemas
    are `edp.runtime.run_params`, the same definition whose keys a run accepts."""
    from airflow.sdk import Param

    from edp.runtime import run_params

    return {name: Param(schema.pop("default"), **schema)
            for name, schema in run_params(spec, default_target, targets).items()}


def late_run_alert(spec: Spec):
    """The deadline (Airflow 3's SLA) after which an unfinished run alerts; None when the spec sets none."""
    minutes = spec.pipeline.late_after_minutes
    if minutes is None:
        return None
    from airflow.sdk.definitions.callback import SyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    return DeadlineAlert(reference=DeadlineReference.DAGRUN_LOGICAL_DATE, interval=timedelta(minutes=minutes),
                         callback=SyncCallback("edp.alerts.run_late",
                                               kwargs={"dag_id": spec.pipeline.id, "late_after_minutes": minutes}))


def build_dag(spec: Spec, doc_md: str | None = None, default_target: str = "local"):
    from airflow.sdk import DAG

    from edp.alerts import task_failed
    from edp.runtime import available_targets

    p = spec.pipeline
    default_args = {
        "owner": p.owner,
        "retries": p.retries,
        "retry_delay": timedelta(seconds=p.retry_delay_seconds),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": task_failed,
    }
    targets = available_targets()
    with DAG(
        dag_id=p.id,
        description=p.description,
        schedule=p.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(minutes=p.timeout_minutes),
        tags=list(p.tags),
        default_args=default_args,
        params=params_schema(spec, default_target if default_target in targets else targets[0], targets),
        doc_md=doc_md,
        deadline=late_run_alert(spec),
    ) as dag:
        operators: dict[str, Any] = {}
        for task in topological_order(spec):
            operators[task.id] = _task(spec, task, operators)
        _wire(spec, operators)
        for task in spec.tasks:
            if task.session:
                _session_pair(spec, task, operators[task.id])
    return dag


def _task(spec: Spec, task: Task, operators: dict):
    from airflow.sdk import task as task_decorator

    decorate = task_decorator(
        task_id=task.id,
        retries=task.retries,
        execution_timeout=timedelta(minutes=task.timeout_minutes),
        doc_md=f"Task kind `{task.kind}`; arguments: `{task.args}`.",
    )
    spec_path = str(spec.path)
    others = tuple(t.id for t in spec.tasks if t.id != task.id)

    def run(table: str | None = None):
        from airflow.sdk import get_current_context

        from edp.runtime import cached_spec, execute, run_context

        context = get_current_context()
        ti, params = context["ti"], dict(context["params"])
        upstream = {tid: ti.xcom_pull(task_ids=tid, key="metrics") for tid in others} if task.kind == "artifacts" else None
        try:
            metrics = execute(spec_path, task.id, context["run_id"], params, upstream, table=table)
        except PermanentError as exc:  # retrying cannot fix it (a setting, an undecodable change): fail now
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from exc
        ti.xcom_push(key="metrics", value=metrics)
        if task.map_over:
            return metrics
        return list(run_context(cached_spec(spec_path), context["run_id"], params).tables)

    run.__name__ = task.id
    tf = decorate(run)
    if task.map_over == "tables":
        return tf.expand(table=operators[task.upstream[0]])
    return tf()


def _session_pair(spec: Spec, task: Task, operator) -> None:
    """`<mode>_up >> task >> <mode>_down`, the pair as setup/teardown: the mode is turned off even when
    the task fails, and a failed teardown fails the run (a session left on costs money)."""
    from airflow.sdk import task as task_decorator

    assert task.session, "only a task that declares a session mode gets the pair"
    spec_path, mode = str(spec.path), task.session

    def step(name: str):
        def run():
            from airflow.sdk import get_current_context

            from edp.runtime import session_step

            context = get_current_context()
            return session_step(spec_path, mode, name, context["run_id"], dict(context["params"]))

        run.__name__ = f"{mode}_{name}"
        return task_decorator(task_id=f"{mode}_{name}", retries=2, execution_timeout=timedelta(minutes=60),
                              doc_md=f"Session mode `{mode}` {name}.")(run)()

    up, down = step("up"), step("down")
    up >> operator >> down.as_teardown(setups=up, on_failure_fail_dagrun=True)


def _wire(spec: Spec, operators: dict) -> None:
    for upstream, downstream in sorted(spec.edges()):
        operators[upstream] >> operators[downstream]


def dag_edges(dag) -> set[tuple[str, str]]:
    """The dependency edges between the work tasks of a built DAG, for comparison with the spec and the ASL
    (session setup/teardown tasks are Airflow's way of running a task inside a session, not pipeline work)."""
    work = {t.task_id for t in dag.tasks if not (t.is_setup or t.is_teardown)}
    return {(t.task_id, d) for t in dag.tasks if t.task_id in work for d in t.downstream_task_ids if d in work}
