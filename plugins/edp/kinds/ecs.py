"""The dbt image on ECS Fargate, which the dbt and artifacts kinds run (the ASL's `ecs:runTask.sync`, Airflow's
deferrable `EcsRunTaskOperator`), with the network and names every such task shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edp.aws import calls
from edp.kinds.base import AslContext, DagContext
from edp.kinds.polling import integration

if TYPE_CHECKING:
    from edp.spec import Task

RUN_ID = "$$.Execution.Name"  # the execution's name is its run id, as Airflow's run_id is a DagRun's


def asl_state(task: Task, ctx: AslContext, override: dict[str, Any], comment: str) -> dict[str, Any]:
    ph = ctx.placeholder
    return {task.id: {
        "Type": "Task", "Comment": comment, "Resource": integration("ecs", "runTask", sync=True),
        "Parameters": {
            "Cluster": ph("ecs_cluster_arn"), "TaskDefinition": ph("dbt_task_definition_arn"), "LaunchType": "FARGATE",
            "NetworkConfiguration": {"AwsvpcConfiguration": {
                "Subnets": [ph("private_subnet_a"), ph("private_subnet_b")],
                "SecurityGroups": [ph("ecs_security_group_id")], "AssignPublicIp": "DISABLED"}},
            "Overrides": {"ContainerOverrides": [{"Name": ph("dbt_container_name"), **override}]},
        },
        "TimeoutSeconds": task.timeout_minutes * 60, "ResultPath": None,
        "Retry": ctx.retry(task), "Catch": ctx.catch(), "Next": ctx.next}}


def operator(task: Task, ctx: DagContext, command: list[str] | str) -> Any:
    """EcsRunTaskOperator on the dbt task definition: deferrable, so no worker slot waits on the container."""
    from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator

    from edp.aws.names import aws_conn_id, poll_seconds

    return EcsRunTaskOperator(
        task_id=task.id, cluster=ctx.name("ecs('cluster_arn')"), task_definition=ctx.name("ecs('task_definition_arn')"),
        launch_type="FARGATE",
        overrides={"containerOverrides": [{"name": ctx.name("ecs('container_name')"), "command": command,
                                           "environment": [{"name": calls.RUN_ID_ENV, "value": "{{ run_id }}"}]}]},
        network_configuration={"awsvpcConfiguration": {
            "subnets": ctx.name("ecs('subnet_ids')"),
            "securityGroups": [ctx.name("ecs('security_group_id')")], "assignPublicIp": "DISABLED"}},
        wait_for_completion=True, deferrable=True, waiter_delay=poll_seconds(),
        waiter_max_attempts=max(1, task.timeout_minutes * 60 // poll_seconds()), aws_conn_id=aws_conn_id(),
        **ctx.task_kwargs(task))
