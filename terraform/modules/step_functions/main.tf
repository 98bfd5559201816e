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

  # each task's own resource, named as the definition names it: <name_prefix>-<name suffix>
  glue_job_arns = [for id, job in var.glue_jobs : "${local.glue_arn}:job/${var.name_prefix}-${job.name_suffix}"]
  crawler_arns  = [for id, crawler in var.crawlers : "${local.glue_arn}:crawler/${var.name_prefix}-${crawler.name_suffix}"]
  # the services the task list's kinds call
  uses_dms     = length(var.dms) > 0
  uses_athena  = contains(var.kinds, "quality_gate")
  uses_serving = contains(var.kinds, "serving_load")
  uses_ecs     = contains(var.kinds, "dbt") || contains(var.kinds, "artifacts")
  # quality gates read these catalog databases through Athena
  athena_databases = [local.vars.glue_database_gold, local.vars.glue_database_silver]
  athena_access    = var.athena_access == null ? { results_bucket_arn = "", data_bucket_arns = tolist([]), kms_key_arns = tolist([]) } : var.athena_access
  ecs_cluster_name = element(split("/", local.vars.ecs_cluster_arn), length(split("/", local.vars.ecs_cluster_arn)) - 1)
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

# Least privilege, from the task list's resources: exactly the Glue jobs and crawlers its tasks own, and each
# other service only when a task of the kind that calls it is in the list.
data "aws_iam_policy_document" "pipeline" {
  dynamic "statement" {
    for_each = length(local.glue_job_arns) > 0 ? [1] : []
    content {
      sid       = "GlueJob"
      actions   = ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"]
      resources = local.glue_job_arns
    }
  }
  dynamic "statement" {
    for_each = length(local.crawler_arns) > 0 ? [1] : []
    content {
      sid       = "GlueCrawler"
      actions   = ["glue:StartCrawler", "glue:GetCrawler"]
      resources = local.crawler_arns
    }
  }
  statement {
    sid       = "SessionOutputs"
    actions   = ["ssm:GetParameter"]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/${trimprefix(local.vars.session_parameter, "/")}"]
  }
  # The replication task belongs to the session layer, so its ARN is not known here: allow only
  # tasks tagged as this platform's (the ingestion module tags them).
  dynamic "statement" {
    for_each = local.uses_dms ? [1] : []
    content {
      sid       = "DmsTask"
      actions   = ["dms:StartReplicationTask"]
      resources = ["arn:${local.partition}:dms:${local.region}:${local.account}:task:*"]
      condition {
        test     = "StringEquals"
        variable = "aws:ResourceTag/edp:platform"
        values   = [var.name_prefix]
      }
    }
  }
  dynamic "statement" {
    for_each = local.uses_dms ? [1] : []
    content {
      sid       = "DmsDescribe"
      actions   = ["dms:DescribeReplicationTasks", "cloudwatch:GetMetricData"]
      resources = ["*"] # neither supports resource-level permissions
    }
  }
  # quality gates: queries in the definition's workgroup over its catalog databases, results in the
  # workgroup's bucket
  dynamic "statement" {
    for_each = local.uses_athena ? [1] : []
    content {
      sid       = "AthenaQuery"
      actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"]
      resources = ["arn:${local.partition}:athena:${local.region}:${local.account}:workgroup/${local.vars.athena_workgroup}"]
    }
  }
  dynamic "statement" {
    for_each = local.uses_athena ? [1] : []
    content {
      sid     = "AthenaCatalogRead"
      actions = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"]
      resources = concat(["${local.glue_arn}:catalog"],
        [for d in local.athena_databases : "${local.glue_arn}:database/${d}"],
      [for d in local.athena_databases : "${local.glue_arn}:table/${d}/*"])
    }
  }
  dynamic "statement" {
    for_each = local.uses_athena ? [1] : []
    content {
      sid = "AthenaResults"
      actions = ["s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:ListBucketMultipartUploads",
      "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
      resources = [local.athena_access.results_bucket_arn, "${local.athena_access.results_bucket_arn}/*"]
    }
  }
  dynamic "statement" {
    for_each = local.uses_athena && length(local.athena_access.data_bucket_arns) > 0 ? [1] : []
    content {
      sid       = "AthenaReadsLake"
      actions   = ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"]
      resources = flatten([for b in local.athena_access.data_bucket_arns : [b, "${b}/*"]])
    }
  }
  dynamic "statement" {
    for_each = local.uses_athena && length(local.athena_access.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "AthenaLakeKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = local.athena_access.kms_key_arns
    }
  }
  # serving loads: the Data API on the session's Redshift Serverless workgroup (created by the session layer
  # under a generated id, so any workgroup of this account and region), with IAM credentials
  dynamic "statement" {
    for_each = local.uses_serving ? [1] : []
    content {
      sid       = "ServingLoad"
      actions   = ["redshift-data:BatchExecuteStatement", "redshift-serverless:GetCredentials"]
      resources = ["arn:${local.partition}:redshift-serverless:${local.region}:${local.account}:workgroup/*"]
    }
  }
  dynamic "statement" {
    for_each = local.uses_serving ? [1] : []
    content {
      sid       = "ServingStatements"
      actions   = ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"]
      resources = ["*"] # no resource-level permissions: only the statements this role ran
      condition {
        test     = "StringEquals"
        variable = "redshift-data:statement-owner-iam-userid"
        values   = ["$${aws:userid}"]
      }
    }
  }
  # dbt and artifacts: the dbt task definition (any revision) on the one cluster
  dynamic "statement" {
    for_each = local.uses_ecs ? [1] : []
    content {
      sid       = "EcsRunTask"
      actions   = ["ecs:RunTask"]
      resources = ["${replace(local.vars.dbt_task_definition_arn, "/:\\d+$/", "")}:*"]
      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [local.vars.ecs_cluster_arn]
      }
    }
  }
  dynamic "statement" {
    for_each = local.uses_ecs ? [1] : []
    content {
      sid       = "EcsWatchTask"
      actions   = ["ecs:StopTask", "ecs:DescribeTasks"]
      resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:task/${local.ecs_cluster_name}/*"]
    }
  }
  dynamic "statement" {
    for_each = local.uses_ecs ? [1] : []
    content {
      sid       = "EcsSyncRule"
      actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
      resources = ["arn:${local.partition}:events:${local.region}:${local.account}:rule/StepFunctionsGetEventsForECSTaskRule"]
    }
  }
  dynamic "statement" {
    for_each = local.uses_ecs && length(var.ecs_task_role_arns) > 0 ? [1] : []
    content {
      sid       = "PassEcsRoles"
      actions   = ["iam:PassRole"]
      resources = var.ecs_task_role_arns
      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["ecs-tasks.amazonaws.com"]
      }
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

  lifecycle {
    precondition {
      condition     = !local.uses_athena || var.athena_access != null
      error_message = "the task list has a quality_gate task: athena_access must name the Athena results bucket."
    }
  }
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

  lifecycle {
    precondition {
      condition     = local.vars.name_prefix == var.name_prefix
      error_message = "definition_variables.name_prefix must equal name_prefix: the role grants the resources the definition names."
    }
  }
}

# The task list's schedule (none: no rule; schedule_enabled switches a rule off per environment).
locals {
  scheduled = var.schedule_expression == null ? [] : [1]
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
  count              = length(local.scheduled)
  name               = "${var.name_prefix}-pipeline-schedule"
  assume_role_policy = data.aws_iam_policy_document.assume_events.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "schedule" {
  count  = length(local.scheduled)
  name   = "start-pipeline"
  role   = aws_iam_role.schedule[0].id
  policy = data.aws_iam_policy_document.start_execution.json
}

resource "aws_cloudwatch_event_rule" "nightly" {
  count               = length(local.scheduled)
  name                = "${var.name_prefix}-pipeline-nightly"
  description         = "Scheduled run of the EDP pipeline (the lean Step Functions path), on the task list's schedule."
  schedule_expression = var.schedule_expression
  state               = var.schedule_enabled ? "ENABLED" : "DISABLED"
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "nightly" {
  count    = length(local.scheduled)
  rule     = aws_cloudwatch_event_rule.nightly[0].name
  arn      = aws_sfn_state_machine.pipeline.arn
  role_arn = aws_iam_role.schedule[0].arn
  input    = file("${path.module}/schedule_input.json")
}

# Before the schedule came from the task list it always existed: the same objects, now counted.
moved {
  from = aws_iam_role.schedule
  to   = aws_iam_role.schedule[0]
}

moved {
  from = aws_iam_role_policy.schedule
  to   = aws_iam_role_policy.schedule[0]
}

moved {
  from = aws_cloudwatch_event_rule.nightly
  to   = aws_cloudwatch_event_rule.nightly[0]
}

moved {
  from = aws_cloudwatch_event_target.nightly
  to   = aws_cloudwatch_event_target.nightly[0]
}
