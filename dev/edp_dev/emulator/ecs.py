"""ECS behaviour the pipeline's dbt task needs and moto 5 lacks, supplied before the emulator serves.

- Stopped tasks: moto moves a task to STOPPED but leaves its containers PENDING, which the provider's
  EcsRunTaskOperator reads as "still pending" and fails; here a stopped task's containers are stopped
  too (exit code 0, as moto records it), with the stop code the service gives an essential container
  that exited.
- Fargate sizes: a Fargate task definition may size only the task (CPU and memory at task level, as
  the containers module does); moto adds up container memory and fails on the missing values.
- awsvpc tasks: moto attaches an ENI and reads its `private_dns_name`, which its ENIs lack; here an
  ENI's private DNS name is the one EC2 gives (moto's own `generate_dns_from_ip`).
- Containers do not run here (no Docker engine).  For the dbt image's task the emulator can stand in
  for the container's one side effect the pipeline depends on: given a folder (`--container-outputs`),
  it uploads that folder's dbt artifacts where the image's entrypoint would
  (`edp.aws.publish.upload_dbt_target`: s3://<EDP_ARTIFACTS_BUCKET>/runs/<run>/dbt/).  Tests give it
  artifacts a real dbt produced; without the option no task writes anything.
"""

from __future__ import annotations

from pathlib import Path

from edp.aws.calls import RUN_ID_ENV
from edp.aws.publish import BUCKET_ENV, upload_dbt_target


def install(container_outputs: Path | None = None) -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    if getattr(EC2ContainerServiceBackend, "_edp_patched", False):
        return
    EC2ContainerServiceBackend._edp_patched = True
    describe_tasks, run_task = EC2ContainerServiceBackend.describe_tasks, EC2ContainerServiceBackend.run_task

    def describe_stopped_tasks(self, cluster_str, tasks):
        described = describe_tasks(self, cluster_str, tasks)
        for task in described:
            if task.last_status == "STOPPED":
                task.desired_status = "STOPPED"
                task.stop_code = "EssentialContainerExited"
                for container in task.containers:
                    container.last_status = "STOPPED"
        return described

    def run_task_with_outputs(self, *args, **kwargs):
        started = run_task(self, *args, **kwargs)
        if container_outputs is not None:
            for task in started:
                _stand_in(self, task, container_outputs)
        return started

    EC2ContainerServiceBackend.describe_tasks = describe_stopped_tasks
    EC2ContainerServiceBackend.run_task = run_task_with_outputs
    _eni_dns_names()
    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(
        _task_level_sizes(EC2ContainerServiceBackend._calculate_task_resource_requirements))


def _eni_dns_names() -> None:
    """moto sets the name on some ENIs only; the rest read the name EC2 would give (settable, as before)."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ec2.utils import generate_dns_from_ip

    if isinstance(getattr(NetworkInterface, "private_dns_name", None), property):
        return

    def get(eni) -> str:
        return eni.__dict__.get("_edp_private_dns_name") or generate_dns_from_ip(eni.private_ip_address)

    def set_(eni, value: str) -> None:
        eni.__dict__["_edp_private_dns_name"] = value

    NetworkInterface.private_dns_name = property(get, set_)


def _task_level_sizes(calculate):
    """Containers without their own memory count as 0 (the task-level size is what Fargate reserves)."""
    from types import SimpleNamespace

    def calculate_with_defaults(task_definition):
        sized = [{**c, "memory": c.get("memory") or c.get("memoryReservation") or 0}
                 if "Memory" not in c and "MemoryReservation" not in c else c
                 for c in task_definition.container_definitions]
        return calculate(SimpleNamespace(container_definitions=sized))

    return calculate_with_defaults


def _environment(entries) -> dict[str, str]:
    return {e["name"]: e["value"] for e in entries or []}


def _stand_in(backend, task, outputs: Path) -> None:
    from moto.s3.models import s3_backends

    definition = backend.describe_task_definition(task.task_definition_arn).container_definitions[0]
    overrides = next((o for o in task.overrides.get("containerOverrides", []) if o.get("name") == definition["name"]), {})
    env = {**_environment(definition.get("environment")), **_environment(overrides.get("environment"))}
    command = overrides.get("command") or definition.get("command") or []
    if not command or command[0] != "dbt" or RUN_ID_ENV not in env or BUCKET_ENV not in env:
        return
    s3 = s3_backends[backend.account_id]["aws"]

    class _Client:  # the one S3 call upload_dbt_target makes, straight into the emulator's S3
        @staticmethod
        def put_object(Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:  # noqa: N803 - boto3's names
            s3.put_object(Bucket, Key, Body)

    upload_dbt_target(_Client(), env[BUCKET_ENV], env[RUN_ID_ENV], outputs)
