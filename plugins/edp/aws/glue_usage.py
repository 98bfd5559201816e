"""What a run's Glue job runs used, as Glue bills it: DPU-seconds from the job runs themselves (GetJobRun).

On the aws target a Glue job's cost is not the task's wall-clock seconds times the task list's workers: the
task also waits for a slot and polls, a session's scale knob may have changed the workers, and an
auto-scaling or Flex run reports the DPU-seconds it consumed (`DPUSeconds`). So the artifacts task reads each
job run the Glue tasks started (their returned run ids) and prices what Glue says: `DPUSeconds` when the
run reports it, else `ExecutionTime` × the run's DPUs (`NumberOfWorkers` × its worker type's DPUs, or
`MaxCapacity` for a run sized in DPUs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from edp.spec import Spec

log = logging.getLogger(__name__)

# DPUs per worker of each Glue worker type (https://docs.aws.amazon.com/glue/latest/dg/worker-types.html; an R
# worker's are memory-optimized M-DPUs, counted here as DPUs)
DPU_PER_WORKER = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "G.12X": 12.0,
                  "G.16X": 16.0, "R.1X": 1.0, "R.2X": 2.0, "R.4X": 4.0, "R.8X": 8.0, "Z.2X": 2.0,
                  "Standard": 1.0}


class GlueUsageError(ValueError):
    """A job run whose DPUs cannot be told from what GetJobRun returned."""


def job_run_dpus(run: dict[str, Any]) -> float:
    """The DPUs a job run was given: workers × the worker type's DPUs, else its MaxCapacity."""
    workers, worker_type = run.get("NumberOfWorkers"), run.get("WorkerType")
    if workers and worker_type:
        if worker_type not in DPU_PER_WORKER:
            raise GlueUsageError(f"job run {run.get('Id')}: unknown Glue worker type {worker_type!r}; "
                                 f"known: {', '.join(DPU_PER_WORKER)}")
        return float(workers) * DPU_PER_WORKER[worker_type]
    if run.get("MaxCapacity"):
        return float(run["MaxCapacity"])
    raise GlueUsageError(f"job run {run.get('Id')}: GetJobRun names neither NumberOfWorkers and WorkerType "
                         "nor MaxCapacity")


def job_run_metrics(run: dict[str, Any]) -> dict[str, Any]:
    """One job run's figures for the cost estimate: `seconds` (ExecutionTime) and `dpus`, whose product is the
    run's DPU-seconds (`dpu_seconds`, Glue's own figure when it reports DPUSeconds)."""
    seconds = float(run.get("ExecutionTime") or 0)
    if run.get("DPUSeconds") is not None:
        dpu_seconds = float(run["DPUSeconds"])
        dpus = dpu_seconds / seconds if seconds else job_run_dpus(run)
    else:
        dpus = job_run_dpus(run)
        dpu_seconds = seconds * dpus
    table = (run.get("Arguments") or {}).get("--table")  # a mapped run's table labels its line in the report
    return {"run_id": run.get("Id"), "state": run.get("JobRunState"), "seconds": seconds, "dpus": round(dpus, 4),
            "dpu_seconds": round(dpu_seconds, 3), "worker_type": run.get("WorkerType"), **({"table": table} if table else {})}


def run_ids(returned: Any) -> list[str]:
    """The job run ids a Glue task returned: one for a task, a list for a mapped one (None where it did not run)."""
    items: Iterable[Any] = [returned] if isinstance(returned, str) else returned if isinstance(returned, Sequence) else []
    return [str(item) for item in items if isinstance(item, str) and item]


def task_metrics(glue, job_name: str, returned: Any) -> list[dict[str, Any]]:
    """Each job run a Glue task started, read back from Glue (`glue` is a boto3 Glue client)."""
    return [job_run_metrics(glue.get_job_run(JobName=job_name, RunId=run_id, PredecessorsIncluded=False)["JobRun"])
            for run_id in run_ids(returned)]


def run_metrics(glue, spec: Spec | None, job_name: Callable[[str], str], returned: dict[str, Any]) -> dict[str, list]:
    """The Glue job runs of each `glue_job` task of the task list, by task id, from what the tasks returned
    (`returned[task_id]`); `job_name(task_id)` names the task's job. A task whose runs cannot be read is left
    out, logged: the run's report matters more than one line of its cost."""
    out: dict[str, list] = {}
    for task in spec.tasks if spec else ():
        if task.kind != "glue_job" or not run_ids(returned.get(task.id)):
            continue
        try:
            out[task.id] = task_metrics(glue, job_name(task.id), returned[task.id])
        except (GlueUsageError, BotoCoreError, ClientError) as exc:
            log.warning("edp: the Glue job runs of %s were not read; the cost leaves them out: %s", task.id, exc)
    return out
