data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  tags        = merge({ "edp:module" = "orchestration" }, var.tags)
  env_name    = "${var.name_prefix}-airflow"
  bucket_name = "${var.name_prefix}-mwaa-source"
  account     = data.aws_caller_identity.current.account_id
  region      = data.aws_region.current.name
  partition   = data.aws_partition.current.partition
  env_arn     = "arn:${local.partition}:airflow:${local.region}:${local.account}:environment/${local.env_name}"
  dag_s3_path = "dags/"

  # what the packaging produced; an omitted file is simply not uploaded nor referenced
  artifacts = { for k, a in {
    requirements = { key = "requirements.txt", path = var.requirements_path, type = "text/plain" }
    startup      = { key = "startup.sh", path = var.startup_script_path, type = "text/x-sh" }
    plugins      = { key = "plugins.zip", path = var.plugins_zip_path, type = "application/zip" }
  } : k => a if a.path != null }
}

# -- the source bucket MWAA reads DAGs, plugins, requirements and the startup script from -----------------
resource "aws_s3_bucket" "source" {
  #checkov:skip=CKV2_AWS_62:nothing consumes object events: MWAA reads the bucket itself, versions are pinned by Terraform
  #checkov:skip=CKV_AWS_144:single-region platform by design; the contents are rebuilt from the repo by packaging and apply
  bucket        = local.bucket_name
  force_destroy = var.force_destroy
  tags          = local.tags
}

resource "aws_s3_bucket_ownership_controls" "source" {
  bucket = aws_s3_bucket.source.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "source" {
  bucket = aws_s3_bucket.source.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# MWAA pins requirements, plugins and the startup script by object version, so versioning is mandatory.
resource "aws_s3_bucket_versioning" "source" {
  bucket = aws_s3_bucket.source.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "source" {
  bucket = aws_s3_bucket.source.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "source" {
  bucket = aws_s3_bucket.source.id

  rule {
    id     = "housekeeping"
    status = "Enabled"

    filter {
      prefix = ""
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    # the environment always pins the current versions; older ones are kept a while for a rollback
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.source]
}

resource "aws_s3_bucket_logging" "source" {
  count         = var.access_logging == null ? 0 : 1
  bucket        = aws_s3_bucket.source.id
  target_bucket = var.access_logging.target_bucket
  target_prefix = "${local.bucket_name}/"
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.source.arn, "${aws_s3_bucket.source.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "source" {
  bucket = aws_s3_bucket.source.id
  policy = data.aws_iam_policy_document.tls_only.json

  depends_on = [aws_s3_bucket_public_access_block.source]
}

resource "aws_s3_object" "dags" {
  bucket                 = aws_s3_bucket.source.id
  key                    = local.dag_s3_path
  content                = ""
  content_type           = "application/x-directory"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  tags                   = local.tags

  depends_on = [aws_s3_bucket_versioning.source]
}

resource "aws_s3_object" "artifact" {
  for_each = local.artifacts

  bucket                 = aws_s3_bucket.source.id
  key                    = each.value.key
  source                 = each.value.path
  source_hash            = filemd5(each.value.path)
  content_type           = each.value.type
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  tags                   = local.tags

  # uploaded after versioning is on, so every object has the version_id the environment pins
  depends_on = [aws_s3_bucket_versioning.source]
}

# -- the execution role: what MWAA itself needs (AWS MWAA user guide, customer-managed key), no more ------
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.env_arn]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.env_name}-execution"
  description        = "Execution role of the ${local.env_name} MWAA environment"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "PublishEnvironmentMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = [local.env_arn]
  }
  statement {
    sid       = "ReadSourceBucket"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:GetBucketPublicAccessBlock", "s3:GetEncryptionConfiguration"]
    resources = [aws_s3_bucket.source.arn]
  }
  statement {
    sid       = "ReadSourceObjects"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.source.arn}/*"]
  }
  statement {
    # MWAA refuses a source bucket that could be public; this action has no resource type
    sid       = "CheckAccountPublicAccessBlock"
    actions   = ["s3:GetAccountPublicAccessBlock"]
    resources = ["*"]
  }
  statement {
    sid       = "WriteEnvironmentLogs"
    actions   = ["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents", "logs:GetLogEvents", "logs:GetLogRecord", "logs:GetLogGroupFields", "logs:GetQueryResults"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:airflow-${local.env_name}-*"]
  }
  statement {
    sid       = "FindLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:*"]
  }
  statement {
    # PutMetricData has no resource type; the namespace condition keeps it to MWAA's own metrics
    sid       = "PutAirflowMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["AmazonMWAA"]
    }
  }
  statement {
    # the Celery queues live in an AWS-owned account, hence the account wildcard
    sid       = "CeleryQueues"
    actions   = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"]
    resources = ["arn:${local.partition}:sqs:${local.region}:*:airflow-celery-*"]
  }
  statement {
    sid       = "KeyThroughS3AndSqs"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com", "s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "mwaa-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# the pipeline's own permissions (Glue, Step Functions, DMS, ECS...) come from the caller
# (a map keyed by name: the keys are known at plan even when a policy's ARNs are not yet)
resource "aws_iam_role_policy" "extra" {
  for_each = var.extra_policies
  name     = each.key
  role     = aws_iam_role.execution.id
  policy   = each.value
}

# -- the environment ------------------------------------------------------------------------------------
resource "aws_mwaa_environment" "this" {
  count = var.create_environment ? 1 : 0

  name               = local.env_name
  airflow_version    = var.airflow_version
  environment_class  = var.environment_class
  min_workers        = var.min_workers
  max_workers        = var.max_workers
  execution_role_arn = aws_iam_role.execution.arn
  kms_key            = var.kms_key_arn

  webserver_access_mode         = var.webserver_access_mode
  airflow_configuration_options = var.airflow_configuration_options

  source_bucket_arn                = aws_s3_bucket.source.arn
  dag_s3_path                      = aws_s3_object.dags.key
  requirements_s3_path             = try(aws_s3_object.artifact["requirements"].key, null)
  requirements_s3_object_version   = try(aws_s3_object.artifact["requirements"].version_id, null)
  plugins_s3_path                  = try(aws_s3_object.artifact["plugins"].key, null)
  plugins_s3_object_version        = try(aws_s3_object.artifact["plugins"].version_id, null)
  startup_script_s3_path           = try(aws_s3_object.artifact["startup"].key, null)
  startup_script_s3_object_version = try(aws_s3_object.artifact["startup"].version_id, null)

  network_configuration {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = var.log_level
    }
    scheduler_logs {
      enabled   = true
      log_level = var.log_level
    }
    task_logs {
      enabled   = true
      log_level = var.log_level
    }
    webserver_logs {
      enabled   = true
      log_level = var.log_level
    }
    worker_logs {
      enabled   = true
      log_level = var.log_level
    }
  }

  tags = local.tags

  lifecycle {
    # Terraform gives the environment its first plugins/requirements/startup; after that `edp mwaa deploy`
    # uploads new ones and points the environment at their versions, so a later plan must not point it back
    ignore_changes = [
      requirements_s3_path, requirements_s3_object_version, plugins_s3_path, plugins_s3_object_version,
      startup_script_s3_path, startup_script_s3_object_version,
    ]
    precondition {
      condition     = var.min_workers <= var.max_workers
      error_message = "min_workers must not exceed max_workers."
    }
  }

  depends_on = [
    aws_iam_role_policy.execution,
    aws_s3_bucket_policy.source,
    aws_s3_bucket_ownership_controls.source,
    aws_s3_bucket_server_side_encryption_configuration.source,
  ]
}
