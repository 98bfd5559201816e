data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  tags      = merge({ "edp:module" = "iam_metadata" }, var.tags)
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition
  layers    = ["bronze", "silver", "gold"]
  catalog   = "arn:${local.partition}:glue:${local.region}:${local.account}"
  db        = { for l in local.layers : l => "${var.glue_database_prefix}_${l}" }
  objects   = { for k, arn in var.bucket_arns : k => "${arn}/*" }

  # service principal per role
  services = {
    glue     = ["glue.amazonaws.com"]
    dms      = ["dms.amazonaws.com"]
    ecs_task = ["ecs-tasks.amazonaws.com"]
    mwaa     = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
  }
}

# -- the platform key ---------------------------------------------------------------------------
data "aws_iam_policy_document" "kms" {
  # A key policy's "*" resource means this key only; the account-root statement is AWS's default, which
  # hands the key's control to IAM policies (without it the key could become unmanageable).
  #checkov:skip=CKV_AWS_109:key policy: the account root administers this key only (AWS's default key policy)
  #checkov:skip=CKV_AWS_111:key policy: "*" is this key; the account root delegating to IAM is AWS's default
  #checkov:skip=CKV_AWS_356:key policy: the resource "*" of a key policy is the key itself, nothing else
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "platform" {
  description             = "${var.name_prefix}: encrypts the lake, catalog, logs and secrets"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "platform" {
  name          = "alias/${var.name_prefix}-platform"
  target_key_id = aws_kms_key.platform.key_id
}

# -- the catalog: one database per layer ----------------------------------------------------------
resource "aws_glue_catalog_database" "layer" {
  for_each    = local.db
  name        = each.value
  description = "EDP ${each.key} layer"
  tags        = local.tags
}

# -- one role per service, each with only what it does ---------------------------------------------
data "aws_iam_policy_document" "assume" {
  for_each = local.services

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = each.value
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "service" {
  for_each           = local.services
  name               = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  assume_role_policy = data.aws_iam_policy_document.assume[each.key].json
  tags               = merge(local.tags, { "edp:service" = each.key })
}

data "aws_iam_policy_document" "glue" {
  statement {
    sid       = "ReadBronzeAndScripts"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [var.bucket_arns.bronze, local.objects.bronze, var.bucket_arns.artifacts, local.objects.artifacts]
  }
  statement {
    sid       = "WriteSilver"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]
    resources = [var.bucket_arns.silver, local.objects.silver]
  }
  statement {
    sid     = "CatalogSilver"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable", "glue:GetPartitions", "glue:BatchCreatePartition"]
    resources = ["${local.catalog}:catalog", "${local.catalog}:database/${local.db.silver}",
    "${local.catalog}:table/${local.db.silver}/*"]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.platform.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws-glue/*"]
  }
}

data "aws_iam_policy_document" "dms" {
  statement {
    sid       = "WriteBronze"
    actions   = ["s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging", "s3:ListBucket"]
    resources = [var.bucket_arns.bronze, local.objects.bronze]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
  }
}

data "aws_iam_policy_document" "ecs_task" {
  statement {
    sid       = "ReadSilver"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [var.bucket_arns.silver, local.objects.silver]
  }
  statement {
    sid       = "ListGoldResultsArtifacts"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.bucket_arns.gold, var.bucket_arns.athena_results, var.bucket_arns.artifacts]
  }
  statement {
    sid       = "WriteGoldResultsArtifacts"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [local.objects.gold, local.objects.athena_results, local.objects.artifacts]
  }
  statement {
    sid       = "Athena"
    actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"]
    resources = ["arn:${local.partition}:athena:${local.region}:${local.account}:workgroup/${var.name_prefix}*"]
  }
  statement {
    sid       = "CatalogReadSilverWriteGold"
    actions   = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartitions", "glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"]
    resources = ["${local.catalog}:catalog", "${local.catalog}:database/${local.db.silver}", "${local.catalog}:table/${local.db.silver}/*", "${local.catalog}:database/${local.db.gold}", "${local.catalog}:table/${local.db.gold}/*"]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.platform.arn]
  }
}

data "aws_iam_policy_document" "mwaa" {
  statement {
    sid       = "ReadDagsBucket"
    actions   = ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]
    resources = [var.bucket_arns.artifacts, local.objects.artifacts]
  }
  statement {
    sid       = "RunPipelineTasks"
    actions   = ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartCrawler", "glue:GetCrawler", "glue:GetCrawlerMetrics"]
    resources = ["${local.catalog}:job/${var.name_prefix}-*", "${local.catalog}:crawler/${var.name_prefix}-*"]
  }
  statement {
    sid       = "RunDbtTask"
    actions   = ["ecs:RunTask", "ecs:DescribeTasks"]
    resources = ["*"]
    condition {
      test     = "ArnLike"
      variable = "ecs:cluster"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account}:cluster/${var.name_prefix}*"]
    }
  }
  statement {
    sid       = "PassServiceRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.service["ecs_task"].arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents", "logs:GetLogEvents", "logs:GetLogRecord", "logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:airflow-${var.name_prefix}*"]
  }
  statement {
    sid       = "CeleryQueues"
    actions   = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"]
    resources = ["arn:${local.partition}:sqs:${local.region}:*:airflow-celery-*"]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"]
    resources = [aws_kms_key.platform.arn]
  }
  dynamic "statement" {
    for_each = aws_iam_role.session_runner
    content {
      sid       = "AssumeSessionRunner"
      actions   = ["sts:AssumeRole"]
      resources = [statement.value.arn]
    }
  }
}

locals {
  policies = {
    glue     = data.aws_iam_policy_document.glue.json
    dms      = data.aws_iam_policy_document.dms.json
    ecs_task = data.aws_iam_policy_document.ecs_task.json
    mwaa     = data.aws_iam_policy_document.mwaa.json
  }
}

resource "aws_iam_role_policy" "service" {
  for_each = local.services
  name     = "least-privilege"
  role     = aws_iam_role.service[each.key].id
  policy   = local.policies[each.key]
}
