"""A Glue job run's DPU-seconds as GetJobRun describes it (edp.aws.glue_usage): the shapes moto does not give
(a run that reports its own DPUSeconds, one sized in DPUs, a worker type we do not know). The emulator's job
runs through the same code are in test_aws_pieces.py."""

from __future__ import annotations

import pytest

from edp.aws.glue_usage import GlueUsageError, job_run_metrics, run_ids


def test_a_run_that_reports_dpu_seconds_is_priced_by_them():
    # an auto-scaling run: ten workers allowed, 250 DPU-seconds used in 100 s
    m = job_run_metrics({"Id": "jr_1", "ExecutionTime": 100, "DPUSeconds": 250.0, "WorkerType": "G.1X",
                         "NumberOfWorkers": 10, "Arguments": {"--table": "orders"}})
    assert (m["seconds"], m["dpus"], m["dpu_seconds"], m["table"]) == (100.0, 2.5, 250.0, "orders")


def test_workers_times_the_worker_type_else_max_capacity():
    assert job_run_metrics({"Id": "a", "ExecutionTime": 60, "WorkerType": "G.2X", "NumberOfWorkers": 3})[
        "dpu_seconds"] == 360.0
    assert job_run_metrics({"Id": "b", "ExecutionTime": 60, "MaxCapacity": 0.0625})["dpus"] == 0.0625


def test_a_run_whose_dpus_cannot_be_told_is_a_named_error():
    with pytest.raises(GlueUsageError, match=r"jr_x: unknown Glue worker type 'X\.9'"):
        job_run_metrics({"Id": "jr_x", "ExecutionTime": 1, "WorkerType": "X.9", "NumberOfWorkers": 2})
    with pytest.raises(GlueUsageError, match="jr_y: GetJobRun names neither"):
        job_run_metrics({"Id": "jr_y", "ExecutionTime": 1})


def test_run_ids_of_a_task_and_of_a_mapped_task():
    assert run_ids("jr_1") == ["jr_1"] and run_ids(["jr_1", None, "jr_2"]) == ["jr_1", "jr_2"]
    assert run_ids(None) == [] and run_ids({"seconds": 1}) == []
