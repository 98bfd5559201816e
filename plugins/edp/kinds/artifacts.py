"""`artifacts`: the run's report, metrics and dbt artifacts, published beside the dbt files (S3 on AWS; a run
folder under .edp/artifacts locally). Step Functions runs `edp artifacts publish` in the dbt image."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edp.aws import calls
from edp.kinds import ecs
from edp.kinds.base import AslContext, DagContext, Kind

if TYPE_CHECKING:
    from edp.spec import Task


class Artifacts(Kind):
    name = "artifacts"
    doc = "Publishes the run's report, metrics and dbt artifacts (S3 on AWS; .edp/artifacts locally)."
    local_executor = "edp_dev.local.executors:artifacts"

    def asl(self, task: Task, ctx: AslContext) -> dict[str, Any]:
        *words, _ = calls.publish_command("RUN_ID")
        command = {"Command.$": "States.Array(" + ", ".join(f"'{w}'" for w in words) + f", {ecs.RUN_ID})"}
        return ecs.asl_state(task, ctx, command,
                             "Publish dbt artifacts, docs and the run report to the artifacts bucket.")

    def aws_operator(self, task: Task, ctx: DagContext) -> Any:
        from edp.aws.operators import PublishArtifactsOperator

        return PublishArtifactsOperator(task_id=task.id, upstream_tasks=[t.id for t in ctx.spec.tasks if t.id != task.id],
                                        **ctx.task_kwargs(task))


KIND = Artifacts()
