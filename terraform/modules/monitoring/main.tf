data "aws_region" "current" {}

locals {
  tags   = merge({ "edp:module" = "monitoring" }, var.tags)
  region = data.aws_region.current.name
  sfn    = { StateMachineArn = var.state_machine_arn }
  dms    = var.dms == null ? {} : { latency = var.dms }
  # AWS events that mean a failure, routed straight to the topic
  failure_events = merge(
    {
      glue_job_failed = {
        description = "A Glue job of the pipeline failed, stopped or timed out"
        pattern = {
          source        = ["aws.glue"]
          "detail-type" = ["Glue Job State Change"]
          detail        = { jobName = var.glue_job_names, state = ["FAILED", "TIMEOUT", "STOPPED", "ERROR"] }
        }
      }
    },
    var.dms == null ? {} : {
      dms_task_failed = {
        description = "DMS replication task ${var.dms.replication_task_id} failed"
        pattern = {
          source        = ["aws.dms"]
          "detail-type" = ["DMS Replication Task State Change"]
          detail        = { eventType = ["REPLICATION_TASK_FAILED"] }
        }
      }
    },
  )
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = local.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "AlarmsAndEventsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_cloudwatch_metric_alarm" "pipeline_failed" {
  alarm_name          = "${var.name_prefix}-pipeline-failed"
  alarm_description   = "A pipeline execution failed, timed out or was aborted."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = local.sfn
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "silver_stale" {
  alarm_name          = "${var.name_prefix}-silver-stale"
  alarm_description   = "No pipeline execution succeeded for ${var.silver_stale_after_hours} h: Silver and Gold are stale."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsSucceeded"
  dimensions          = local.sfn
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = var.silver_stale_after_hours
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "glue_failed_tasks" {
  for_each            = toset(var.glue_job_names)
  alarm_name          = "${each.value}-failed-tasks"
  alarm_description   = "Spark tasks of ${each.value} failed."
  namespace           = "Glue"
  metric_name         = "glue.driver.aggregate.numFailedTasks"
  dimensions          = { JobName = each.value, JobRunId = "ALL", Type = "count" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "dms_latency" {
  for_each            = toset(length(local.dms) > 0 ? ["CDCLatencySource", "CDCLatencyTarget"] : [])
  alarm_name          = "${var.name_prefix}-dms-${lower(each.key)}"
  alarm_description   = "DMS ${each.key} above ${var.dms_latency_threshold_seconds} s."
  namespace           = "AWS/DMS"
  metric_name         = each.key
  dimensions          = { ReplicationInstanceIdentifier = var.dms.replication_instance_id, ReplicationTaskIdentifier = var.dms.replication_task_id }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.dms_latency_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = local.tags
}

resource "aws_cloudwatch_event_rule" "failure" {
  for_each      = local.failure_events
  name          = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  description   = each.value.description
  event_pattern = jsonencode(each.value.pattern)
  tags          = local.tags
}

resource "aws_cloudwatch_event_target" "failure" {
  for_each = local.failure_events
  rule     = aws_cloudwatch_event_rule.failure[each.key].name
  arn      = aws_sns_topic.alarms.arn
}

resource "aws_cloudwatch_dashboard" "platform" {
  dashboard_name = "${var.name_prefix}-platform"
  dashboard_body = jsonencode({
    widgets = concat(
      [
        {
          type = "metric", x = 0, y = 0, width = 12, height = 6
          properties = {
            title = "Pipeline executions", region = local.region, stat = "Sum", period = 3600
            metrics = [for m in ["ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"] :
            ["AWS/States", m, "StateMachineArn", var.state_machine_arn]]
          }
        },
        {
          type = "metric", x = 12, y = 0, width = 12, height = 6
          properties = {
            title = "Glue jobs", region = local.region, stat = "Sum", period = 300
            metrics = flatten([for j in var.glue_job_names : [
              for m in ["glue.driver.aggregate.numCompletedTasks", "glue.driver.aggregate.numFailedTasks"] :
            ["Glue", m, "JobName", j, "JobRunId", "ALL", "Type", "count"]]])
          }
        },
      ],
      [for k, d in local.dms : {
        type = "metric", x = 0, y = 6, width = 24, height = 6
        properties = {
          title = "DMS CDC latency (s)", region = local.region, stat = "Maximum", period = 300
          metrics = [for m in ["CDCLatencySource", "CDCLatencyTarget"] :
          ["AWS/DMS", m, "ReplicationInstanceIdentifier", d.replication_instance_id, "ReplicationTaskIdentifier", d.replication_task_id]]
        }
      }],
    )
  })
}
