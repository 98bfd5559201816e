"""The monitoring module against the local AWS emulator: one encrypted topic that every alarm and failure
event reaches, the alarms the platform needs (pipeline failed, Silver stale, Glue failures, DMS latency),
and a dashboard over the same metrics."""

from __future__ import annotations

import json

import pytest

from tests.terraform.conftest import applied_example, requires_terraform

pytestmark = [requires_terraform, pytest.mark.integration]


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    def nothing_left(emulator):
        assert emulator.client("cloudwatch").describe_alarms()["MetricAlarms"] == []

    with applied_example(tmp_path_factory.mktemp("tf"), "monitoring", after_destroy=nothing_left) as applied:
        yield applied


def test_alarms_cover_the_pipeline_and_publish_to_the_topic(applied):
    emulator, outputs = applied
    alarms = {a["AlarmName"]: a for a in emulator.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert set(alarms) == set(outputs["alarm_names"]) == {
        "edp-example-pipeline-failed", "edp-example-silver-stale", "edp-example-bronze-to-silver-failed-tasks",
        "edp-example-dms-cdclatencysource", "edp-example-dms-cdclatencytarget"}
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [outputs["alarm_topic_arn"]], alarm["AlarmName"]
    stale = alarms["edp-example-silver-stale"]
    assert stale["MetricName"] == "ExecutionsSucceeded" and stale["TreatMissingData"] == "breaching"
    assert stale["EvaluationPeriods"] == 26


def test_failure_events_route_to_the_encrypted_topic(applied):
    emulator, outputs = applied
    topic = emulator.client("sns").get_topic_attributes(TopicArn=outputs["alarm_topic_arn"])["Attributes"]
    assert topic["KmsMasterKeyId"].startswith("arn:aws:kms:")
    events = emulator.client("events")
    for rule, source in (("edp-example-glue-job-failed", "aws.glue"), ("edp-example-dms-task-failed", "aws.dms")):
        pattern = json.loads(events.describe_rule(Name=rule)["EventPattern"])
        assert pattern["source"] == [source]
        (target,) = events.list_targets_by_rule(Rule=rule)["Targets"]
        assert target["Arn"] == outputs["alarm_topic_arn"]


def test_dashboard_shows_pipeline_glue_and_dms(applied):
    emulator, outputs = applied
    body = json.loads(emulator.client("cloudwatch").get_dashboard(DashboardName=outputs["dashboard_name"])["DashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert titles[0] == "Pipeline executions" and any(t.startswith("Glue ") for t in titles)
    assert "DMS CDC latency (s)" in titles
