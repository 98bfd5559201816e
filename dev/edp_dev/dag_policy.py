"""The local Airflow stack's DAG policy: clock schedules off, data (Asset) schedules on.

`edp airflow up` should start only what a person triggers, never last night's `edp_pipeline` or the
half-hourly session sweep the moment the UI opens.  Airflow's own switch for that,
`[scheduler] use_job_schedule = False`, also stops the scheduler from creating asset-triggered runs, so the
Gold consumer (`edp_pipeline_on_gold`) would never start after a pipeline run updates the Gold Assets.  This
cluster policy (`dag_policy`, loaded from the stack's `airflow_local_settings.py`) is the finer switch: where
`EDP_CLOCK_SCHEDULES=off` (the stack's environment sets it), a DAG scheduled by a clock is loaded with no
timetable, as if written `schedule=None`; a DAG scheduled on Assets keeps its schedule.  The DAG files are
the ones MWAA runs, unchanged.
"""

from __future__ import annotations

import os

CLOCKS_ENV = "EDP_CLOCK_SCHEDULES"
OFF = "off"


def clocks_off() -> bool:
    """True where this process's deployment runs no clock schedules (the local stack)."""
    value = os.environ.get(CLOCKS_ENV, "on").strip().lower()
    if value not in ("on", OFF):
        raise ValueError(f"{CLOCKS_ENV} must be 'on' or 'off', not {value!r}")
    return value == OFF


def dag_policy(dag) -> None:
    """Airflow's `dag_policy` hook: drop a clock schedule (cron, interval, once, continuous) where clocks are
    off; keep Asset schedules and DAGs with none."""
    if not clocks_off():
        return
    from airflow.sdk.definitions.timetables.assets import AssetTriggeredTimetable
    from airflow.sdk.definitions.timetables.simple import NullTimetable

    timetable = dag.timetable
    if isinstance(timetable, (AssetTriggeredTimetable, NullTimetable)) or not timetable.can_be_scheduled:
        return
    dag.timetable = NullTimetable()  # `schedule` is frozen; the timetable is what the scheduler reads
