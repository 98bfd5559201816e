"""`glue_crawler`: a Glue crawler of its own per task over one lake layer, which catalogues that layer's tables
(locally: the DuckDB catalog refreshed from the layer's files).

Step Functions starts it and polls `getCrawler` until the crawl finishes (the loop ends at the task's
timeout); Airflow runs `GlueCrawlerOperator`, deferrable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edp.kinds.base import Arg, AslContext, DagContext, Kind, resource_name
from edp.kinds.polling import sdk_integration, start_counting, task_state, timed_out, wait_round

if TYPE_CHECKING:
    from edp.spec import Spec, Task

LAYERS = ("bronze", "silver", "gold")


class GlueCrawler(Kind):
    name = "glue_crawler"
    doc = "A Glue crawler over one lake layer, cataloguing its tables (locally: the DuckDB catalog)."
    args = (Arg("layer", str, "the lake layer it catalogues", default="silver", choices=LAYERS),)
    local_executor = "edp_dev.local.executors:glue_crawler"

    def resources(self, task: Task, spec: Spec) -> dict[str, Any]:
        return {"crawlers": {task.id: {"name_suffix": resource_name("", task.id)[1:], "layer": task.args["layer"]}}}

    def asl(self, task: Task, ctx: AslContext) -> dict[str, Any]:
        crawler = f"{ctx.placeholder('name_prefix')}-{resource_name('', task.id)[1:]}"
        ready = {"Variable": f"$.{task.id}.Crawler.State", "StringEquals": "READY"}
        last = f"$.{task.id}.Crawler.LastCrawl.Status"
        finished = [ready, {"Variable": last, "IsPresent": True}]
        return {
            **start_counting(ctx, task, ctx.step(task, "start")),
            ctx.step(task, "start"): task_state(ctx, task, {
                "Resource": sdk_integration("glue", "startCrawler"), "Parameters": {"Name": crawler},
                "ResultPath": None}, ctx.step(task, "wait")),
            **wait_round(ctx, task, "wait", "poll"),
            ctx.step(task, "poll"): task_state(ctx, task, {
                "Resource": sdk_integration("glue", "getCrawler"), "Parameters": {"Name": crawler},
                "ResultSelector": {"Crawler.$": "$.Crawler"}, "ResultPath": f"$.{task.id}"}, ctx.step(task, "check")),
            ctx.step(task, "check"): {
                "Type": "Choice",
                "Choices": [{"And": [*finished, {"Variable": last, "StringEquals": "SUCCEEDED"}], "Next": ctx.next},
                            {"And": [*finished, {"Not": {"Variable": last, "StringEquals": "SUCCEEDED"}}],
                             "Next": ctx.failed}],
                "Default": ctx.step(task, "wait")},
            **timed_out(ctx, task),
        }

    def aws_operator(self, task: Task, ctx: DagContext) -> Any:
        from airflow.providers.amazon.aws.operators.glue_crawler import GlueCrawlerOperator

        from edp.aws.names import aws_conn_id, poll_seconds

        return GlueCrawlerOperator(task_id=task.id, config={"Name": ctx.name(f"crawler('{task.id}')")},
                                   wait_for_completion=True, deferrable=True, poll_interval=poll_seconds(),
                                   aws_conn_id=aws_conn_id(), **ctx.task_kwargs(task))


KIND = GlueCrawler()
