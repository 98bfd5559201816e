"""Renders the task list as an Airflow DAG (Airflow 3 task SDK, MWAA-compatible) for one target.

The target is a deployment setting, chosen when the DAG is rendered (`EDP_TARGET`, which MWAA's startup
script exports; `AIRFLOW_VAR_EDP_TARGET` overrides it): on `aws` every task is its kind's real operator
(the amazon provider's `GlueJobOperator`, `GlueCrawlerOperator`, `EcsRunTaskOperator`... deferrable where the
provider offers it, so no worker slot waits on AWS), with names templated from the published outputs at run
time; on `local` every task is a thin TaskFlow task that hands its id and the run's params to
`edp.runtime.execute`, which runs the local engines (heavy imports happen there, never at parse time).

The first task, `check_params`, refuses bad params before any work and hands the run's tables to the mapped
tasks. Edges are wired in one function, `_wire`, from the same `Spec.edges()` the ASL renderer reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from edp.kinds import KINDS
from edp.kinds.base import DagContext
from edp.settings import PermanentError
from edp.spec import Spec, Task, topological_order

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


CHECK_PARAMS = "check_params"


def params_schema(spec: Spec) -> dict:
    """The trigger form: each Param is a JSON schema, so the UI validates before a run exists.  The schemas
    are `edp.runtime.run_params`, the same definition whose keys a run accepts."""
    from airflow.sdk import Param

    from edp.runtime import run_params

    return {name: Param(schema.pop("default"), **schema) for name, schema in run_params(spec).items()}


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


def build_dag(spec: Spec, doc_md: str | None = None, target: str | None = None):
    from airflow.sdk import DAG

    from edp.alerts import task_failed
    from edp.settings import resolve_target

    target = resolve_target(target)
    p = spec.pipeline
    default_args = {
        "owner": p.owner,
        "retries": p.retries,
        "retry_delay": timedelta(seconds=p.retry_delay_seconds),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": task_failed,
    }
    aws = target == "aws"
    macros = {}
    if aws:
        from edp.aws.names import Names
        from edp.aws.publish import record_failed_task

        macros = {"edp": Names(str(spec.path))}
        # the provider's operators cannot record a failure as the local tasks do: the callback puts it in the
        # artifacts bucket's run history (the local tasks record their own last failed try, dag_factory._local_task)
        default_args["on_failure_callback"] = [task_failed, record_failed_task]
    with DAG(
        dag_id=p.id,
        description=p.description,
        schedule=p.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(minutes=p.timeout_minutes),
        tags=[*p.tags, f"target:{target}"],
        default_args=default_args,
        params=params_schema(spec),
        doc_md=doc_md,
        deadline=late_run_alert(spec),
        user_defined_macros=macros,
        render_template_as_native_obj=aws,  # a templated list (subnets, SQL) renders as a list
    ) as dag:
        checked = _check_params(spec)
        ctx = DagContext(spec=spec, target=target, operators={}, local_task=lambda t: None)
        ctx.check = checked
        for task in topological_order(spec):
            kind = KINDS[task.kind]
            ctx.operators[task.id] = kind.aws_operator(task, ctx) if aws else _local_task(spec, task, checked)
        _wire(spec, ctx.operators, checked)
        for task in spec.tasks:
            if task.session:
                _session_pair(spec, task, ctx.operators[task.id])
    return dag


# Not 1: Airflow 3.0-3.3 drops from a capped asset-triggered DAG's next run the events that arrive while it waits
# at max_active_runs (apache/airflow#56050, fixed after 3.3): a pipeline run finishing during a consumer run
# would start no consumer run until the next one. Each run is one short task (5 min at most), so runs that overlap
# cost little and the cap is never reached by the pipeline's own pace (it runs one run at a time).
GOLD_CONSUMER_MAX_RUNS = 8


def build_gold_consumer_dag(spec: Spec, doc_md: str | None = None):
    """`<pipeline>_on_gold`: runs when every Gold mart the pipeline builds has a new version (an asset event
    from the task that rebuilt it), not on a clock; the place for whatever consumes fresh Gold. Its one task
    names the marts and the pipeline run that produced them."""
    from airflow.sdk import DAG, task

    from edp.assets import gold_assets

    p = spec.pipeline
    marts = gold_assets(spec)
    with DAG(dag_id=f"{p.id}_on_gold", description="Fresh Gold marts, after each pipeline run that rebuilds them.",
             schedule=marts, start_date=START_DATE, catchup=False, max_active_runs=GOLD_CONSUMER_MAX_RUNS,
             tags=[*p.tags, "assets"],
             default_args={"owner": p.owner, "retries": p.retries, "execution_timeout": timedelta(minutes=5)},
             doc_md=doc_md) as dag:

        @task(task_id="fresh_gold", inlets=marts)
        def fresh_gold() -> dict[str, list[str]]:
            """Each Gold mart updated since this DAG last ran, with the pipeline runs that updated it."""
            from airflow.sdk import get_current_context

            events = get_current_context().get("triggering_asset_events") or {}
            out = {}
            for key, items in events.items():
                name = getattr(key, "name", None) or str(key)
                out[name] = sorted({str((e.source_run_id if hasattr(e, "source_run_id") else None)
                                        or getattr(e, "source_dag_id", "?")) for e in items})
            return out

        fresh_gold()
    return dag


def glue_arguments_of(item: dict) -> dict[str, str]:
    """What a mapped Glue job run takes from one of `check_params`' items."""
    return item["glue_arguments"]


def _check_params(spec: Spec):
    """The run's first task: bad params stop the run here, before any work, and the selected tables (each with
    its key and the Glue job's arguments) are handed to the mapped tasks."""
    from airflow.sdk import task as task_decorator

    spec_path = str(spec.path)

    def check_params() -> list[dict[str, Any]]:
        from airflow.sdk import get_current_context

        from edp.aws import calls
        from edp.runtime import cached_spec, run_context

        context = get_current_context()
        try:
            run = run_context(cached_spec(spec_path), context["run_id"], dict(context["params"]))
        except PermanentError as exc:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from exc
        items = []
        for table in run.tables:
            key = ",".join(run.spec.source(table).primary_key)
            items.append({"table": table, "primary_key": key, "glue_arguments": calls.glue_arguments(table, key)})
        return items

    return task_decorator(task_id=CHECK_PARAMS, retries=0,
                          execution_timeout=timedelta(minutes=2),
                          doc_md="Refuses bad params before any work; hands the run's tables to mapped tasks.")(
        check_params)()


def _local_task(spec: Spec, task: Task, checked):
    """The local target's task: the runtime runs the kind's local engine (edp_dev)."""
    from airflow.sdk import task as task_decorator

    from edp.assets import task_assets

    decorate = task_decorator(  # type: ignore[call-overload]  # inlets/outlets go to the operator's **kwargs
        task_id=task.id,
        retries=task.retries,
        execution_timeout=timedelta(minutes=task.timeout_minutes),
        doc_md=f"Task kind `{task.kind}`; arguments: `{task.args}`.",
        **task_assets(spec, task),
    )
    spec_path = str(spec.path)
    others = tuple(t.id for t in spec.tasks if t.id != task.id)

    def run(item: dict | None = None):
        from airflow.sdk import get_current_context

        from edp.runtime import execute, record_failure

        context = get_current_context()
        ti, params = context["ti"], dict(context["params"])
        upstream = {tid: ti.xcom_pull(task_ids=tid, key="metrics") for tid in others} if task.kind == "artifacts" else None
        started = getattr(context.get("dag_run"), "start_date", None)
        table = item["table"] if item else None
        try:
            metrics = execute(spec_path, task.id, context["run_id"], params, upstream, table=table, target="local",
                              run_started=started)
        except Exception as exc:
            permanent = isinstance(exc, PermanentError)
            if permanent or ti.try_number > task.retries:  # the last try: the run history shows the failure
                record_failure(spec_path, task.id, context["run_id"], params, exc, "local", started)
            if permanent:  # retrying cannot fix it (a setting, an undecodable change): fail now
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(str(exc)) from exc
            raise
        ti.xcom_push(key="metrics", value=metrics)
        return metrics

    run.__name__ = task.id
    tf = decorate(run)
    if task.map_over == "tables":
        return tf.expand(item=checked)
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


def _wire(spec: Spec, operators: dict, checked) -> None:
    for upstream, downstream in sorted(spec.edges()):
        operators[upstream] >> operators[downstream]
    for task in spec.tasks:
        if not task.upstream:
            checked >> operators[task.id]


def dag_edges(dag) -> set[tuple[str, str]]:
    """The dependency edges between the work tasks of a built DAG, for comparison with the spec and the ASL
    (session setup/teardown tasks are Airflow's way of running a task inside a session, not pipeline work)."""
    work = {t.task_id for t in dag.tasks if not (t.is_setup or t.is_teardown) and t.task_id != CHECK_PARAMS}
    return {(t.task_id, d) for t in dag.tasks if t.task_id in work for d in t.downstream_task_ids if d in work}


def describe_dag(dag) -> dict[str, Any]:
    """What `edp dag show` prints: each task's upstream ids, mapped-ness, operator class and deferral."""
    tasks = []
    for op in dag.tasks:
        mapped = hasattr(op, "partial_kwargs")
        deferrable = (op.partial_kwargs.get("deferrable") if mapped else getattr(op, "deferrable", False))
        operator = op.operator_class.__name__ if mapped and hasattr(op.operator_class, "__name__") else (
            op.operator_class["task_type"] if mapped else type(op).__name__)
        tasks.append({"task_id": op.task_id, "upstream": sorted(op.upstream_task_ids), "mapped": mapped,
                      "operator": operator, "deferrable": bool(deferrable),
                      "setup": op.is_setup, "teardown": op.is_teardown})
    return {"dag_id": dag.dag_id, "target": next((t.split(":", 1)[1] for t in dag.tags if t.startswith("target:")), ""),
            "tasks": tasks}
