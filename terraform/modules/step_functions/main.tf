data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  tags       = merge({ "edp:module" = "step_functions" }, var.tags)
  account    = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
  glue_arn   = "arn:${local.partition}:glue:${local.region}:${local.account}"
  vars       = var.definition_variables
  definition = templatefile("${path.module}/definition.asl.json", local.vars)
}

resource "aws_cloudwatch_log_group" "executions" {
  name              = "/aws/vendedlogs/states/${var.name_prefix}-pipeline"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

data "aws_iam_policy_document" "assume_states" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

# Least privilege: exactly the resources the definition names, and nothing else.
data "aws_iam_policy_document" "pipeline" {
  statement {
    sid       = "GlueJob"
    actions   = ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"]
    resources = ["${local.glue_arn}:job/${local.vars.glue_job_bronze_to_silver}"]
  }
  statement {
    sid       = "GlueCrawler"
    actions   = ["glue:StartCrawler", "glue:GetCrawler"]
    resources = ["${local.glue_arn}:crawler/${local.vars.glue_crawler_silver}"]
  }
  statement {
    sid       = "SessionOutputs"
    actions   = ["ssm:GetParameter"]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/${trimprefix(local.vars.session_parameter, "/")}"]
  }
  # The replication task belongs to the session layer, so its ARN is not known here: allow only
  # tasks tagged as this platform's (the ingestion module tags them).
  statement {
    sid       = "DmsTask"
    actions   = ["dms:StartReplicationTask"]
    resources = ["arn:${local.partition}:dms:${local.region}:${local.account}:task:*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/edp:platform"
      values   = [var.name_prefix]
    }
  }
  statement {
    sid       = "DmsDescribe"
    actions   = ["dms:DescribeReplicationTasks", "cloudwatch:GetMetricData"]
    resources = ["*"] # neither supports resource-level permissions
  }
  statement {
    sid       = "EcsRunTask"
    actions   = ["ecs:RunTask", "ecs:StopTask", "ecs:DescribeTasks"]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.vars.ecs_cluster_arn]
    }
  }
  statement {
    sid       = "EcsSyncRule"
    actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account}:rule/StepFunctionsGetEventsForECSTaskRule"]
  }
  dynamic "statement" {
    for_each = length(var.ecs_task_role_arns) > 0 ? [1] : []
    content {
      sid       = "PassEcsRoles"
      actions   = ["iam:PassRole"]
      resources = var.ecs_task_role_arns
    }
  }
  statement {
    sid = "Logs"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${var.name_prefix}-pipeline-sfn"
  assume_role_policy = data.aws_iam_policy_document.assume_states.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "pipeline"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.pipeline.json
}

resource "aws_sfn_state_machine" "pipeline" {
  #checkov:skip=CKV_AWS_285:execution data (state inputs and outputs) stays out of CloudWatch on purpose; failures are logged at level ERROR and the full history stays in Step Functions for 90 days
  name       = "${var.name_prefix}-pipeline"
  role_arn   = aws_iam_role.state_machine.arn
  definition = local.definition
  type       = "STANDARD"

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.executions.arn}:*"
    include_execution_data = false
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = true
  }

  tags = local.tags
}

data "aws_iam_policy_document" "assume_events" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "start_execution" {
  statement {
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.pipeline.arn]
  }
}

resource "aws_iam_role" "schedule" {
  name               = "${var.name_prefix}-pipeline-schedule"
  assume_role_policy = data.aws_iam_policy_document.assume_events.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "schedule" {
  name   = "start-pipeline"
  role   = aws_iam_role.schedule.id
  policy = data.aws_iam_policy_document.start_execution.json
}

resource "aws_cloudwatch_event_rule" "nightly" {
  name                = "${var.name_prefix}-pipeline-nightly"
  description         = "Nightly run of the EDP pipeline (the lean Step Functions path)."
  schedule_expression = var.schedule_expression
  state               = var.schedule_enabled ? "ENABLED" : "DISABLED"
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "nightly" {
  rule     = aws_cloudwatch_event_rule.nightly.name
  arn      = aws_sfn_state_machine.pipeline.arn
  role_arn = aws_iam_role.schedule.arn
  input    = file("${path.module}/schedule_input.json")
}
