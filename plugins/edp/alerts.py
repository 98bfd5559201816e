"""Failures and late runs, told to the environment's alarm topic (SNS), where on-call already listens.

`task_failed` is every pipeline task's on_failure_callback; `run_late` is the DAG's deadline callback
(Airflow 3's successor to SLAs): the nightly run has not finished `late_after_minutes` after its
logical date.  The topic is the one the foundation publishes (`alarm_topic_arn`), the same the
CloudWatch alarms and the Step Functions failure rule use.  A callback never raises: an alert that
cannot be sent is logged, and the task's own failure stands.
"""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger(__name__)


def publish(subject: str, message: dict[str, Any], environment: str | None = None) -> str | None:
    """Send one alert; returns the SNS message id, or None when it could not be sent (logged why)."""
    try:
        from edp.environments import aws_client, published_outputs, resolve_environment

        environment = resolve_environment(environment)
        foundation = published_outputs(environment, "foundation") or {}
        topic = foundation.get("alarm_topic_arn")
        if not topic:
            log.warning("edp alert not sent (the %s foundation publishes no alarm topic): %s", environment, subject)
            return None
        sent = aws_client("sns", environment).publish(TopicArn=topic, Subject=subject[:100],
                                                      Message=json.dumps(message, indent=1, default=str))
        log.info("edp alert sent to %s: %s", topic, subject)
        return sent["MessageId"]
    except Exception as exc:  # noqa: BLE001 - an alert must never mask the failure it reports
        log.warning("edp alert not sent (%s): %s", exc, subject)
        return None


def task_failed(context: dict[str, Any]) -> None:
    ti = context.get("ti") or context.get("task_instance")
    params = dict(context.get("params") or {})
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    label = f"{task_id}[{map_index}]" if map_index not in (None, -1) else task_id
    publish(f"EDP {dag_id}: {label} failed", {
        "dag_id": dag_id, "task_id": task_id, "map_index": map_index, "run_id": context.get("run_id"),
        "try_number": getattr(ti, "try_number", None), "target": params.get("target"),
        "error": str(context.get("exception") or ""), "log_url": getattr(ti, "log_url", None),
    })


def run_late(context: dict[str, Any] | None = None, **kwargs: Any) -> None:
    context = context or {}
    dag_run = context.get("dag_run")
    dag_id = kwargs.get("dag_id") or getattr(dag_run, "dag_id", "?")
    publish(f"EDP {dag_id}: run is late", {
        "dag_id": dag_id, "run_id": getattr(dag_run, "run_id", None) or context.get("run_id"),
        "late_after_minutes": kwargs.get("late_after_minutes"),
        "logical_date": getattr(dag_run, "logical_date", None), "state": getattr(dag_run, "state", None),
    })
