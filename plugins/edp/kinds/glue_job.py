"""`glue_job`: a Glue job of its own per task, running one of glue_scripts/ (locally: the same script under
local PySpark). Mapped over the run's tables it runs once per table with `--table` and `--primary_key`.

Terraform creates the job from the resources file (`<prefix>-<task id>`, the task's script and workers);
Step Functions runs it through `glue:startJobRun.sync` (in a Map state when mapped); Airflow through
`GlueJobOperator`, deferrable and durable (a retry re-attaches to the run already going).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edp.aws import calls
from edp.kinds.base import Arg, AslContext, DagContext, Kind, resource_name
from edp.kinds.polling import integration

if TYPE_CHECKING:
    from edp.spec import Spec, Task

ARGUMENT = r"[a-z][a-z0-9_]*=.*"


class GlueJob(Kind):
    name = "glue_job"
    doc = "A Glue job of its own running a script from glue_scripts/ (locally: the same script on local PySpark)."
    args = (
        Arg("script", str, "the script in glue_scripts/ the job runs", pattern=r"[a-z][a-z0-9_]*\.py"),
        Arg("workers", int, "Glue workers per run (a session's glue_workers knob overrides it)", default=2,
            minimum=2, maximum=100),
        Arg("arguments", list, "extra job arguments as name=value (passed as --name value)", default=(),
            pattern=ARGUMENT),
    )
    mappable = True
    local_executor = "edp_dev.local.executors:glue_job"

    def check_args(self, raw: dict[str, Any]) -> dict[str, Any]:
        args = super().check_args(raw)
        bad = [a for a in args["arguments"] if "=" not in a or not a.split("=", 1)[0].isidentifier()]
        if bad:
            raise ValueError(f"argument 'arguments' items must be name=value, got {', '.join(map(repr, bad))}")
        return args

    def check_files(self, task: Task) -> str | None:
        from edp.settings import glue_scripts_dir

        script = glue_scripts_dir() / task.args["script"]
        return None if script.is_file() else f"argument 'script': {script} does not exist"

    def resources(self, task: Task, spec: Spec) -> dict[str, Any]:
        return {"glue_jobs": {task.id: {"name_suffix": resource_name("", task.id)[1:], "script": task.args["script"],
                                        "workers": task.args["workers"], "mapped": task.map_over is not None}}}

    def job_arguments(self, task: Task) -> dict[str, str]:
        """The task's own arguments on top of the job's defaults (the lake paths and schema are the job's)."""
        return {f"--{a.split('=', 1)[0]}": a.split("=", 1)[1] for a in task.args["arguments"]}

    def asl(self, task: Task, ctx: AslContext) -> dict[str, Any]:
        job = f"{ctx.placeholder('name_prefix')}-{resource_name('', task.id)[1:]}"
        static = {"JobName": job, "NumberOfWorkers.$": "$.workers" if task.map_over else "$.session.outputs.scale."
                  "glue_workers"}
        if task.map_over is None:
            return {task.id: {
                "Type": "Task", "Comment": f"One run of {task.args['script']}.",
                "Resource": integration("glue", "startJobRun", sync=True),
                "Parameters": {**static, "Arguments": self.job_arguments(task)},
                "TimeoutSeconds": task.timeout_minutes * 60, "ResultPath": None,
                "Retry": ctx.retry(task), "Catch": ctx.catch(), "Next": ctx.next}}
        inner = ctx.step(task, "table")
        per_table = {f"{k}.$": f"$.{k[2:]}" for k in calls.glue_arguments("table", "key")}
        return {task.id: {
            "Type": "Map",
            "Comment": f"One run of {task.args['script']} per source table.",
            "ItemsPath": "$.tables",
            "ItemSelector": {"table.$": "$$.Map.Item.Value.table", "primary_key.$": "$$.Map.Item.Value.primary_key",
                             "workers.$": "$.session.outputs.scale.glue_workers"},
            "MaxConcurrency": 4,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": inner, "States": {inner: {
                "Type": "Task", "Resource": integration("glue", "startJobRun", sync=True),
                "Parameters": {**static, "Arguments": {**self.job_arguments(task), **per_table}},
                "TimeoutSeconds": task.timeout_minutes * 60, "Retry": ctx.retry(task), "End": True}}},
            "ResultPath": None, "Catch": ctx.catch(), "Next": ctx.next}}

    def aws_operator(self, task: Task, ctx: DagContext) -> Any:
        from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

        from edp.aws.names import aws_conn_id, poll_seconds

        common = dict(
            job_name=ctx.name(f"glue_job('{task.id}')"), wait_for_completion=True, deferrable=True, durable=True,
            verbose=False, job_poll_interval=poll_seconds(), aws_conn_id=aws_conn_id(),
            run_job_kwargs={"NumberOfWorkers": ctx.name(f"glue_workers('{task.id}')")}, **ctx.task_kwargs(task))
        if task.map_over is None:
            return GlueJobOperator(task_id=task.id, script_args=self.job_arguments(task), **common)
        tables = ctx.tables_of(task)
        return GlueJobOperator.partial(task_id=task.id, **common).expand(script_args=tables)


KIND = GlueJob()
