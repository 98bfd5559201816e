locals {
  # role of each bucket: data-bearing buckets are protected from destroy
  buckets = {
    bronze         = { data = true }
    silver         = { data = true }
    gold           = { data = true }
    artifacts      = { data = false }
    athena_results = { data = false }
  }
  protected   = { for k, v in local.buckets : k => v if v.data && var.protect_data }
  unprotected = { for k, v in local.buckets : k => v if !(v.data && var.protect_data) }
  bucket_ids  = merge({ for k, b in aws_s3_bucket.protected : k => b.id }, { for k, b in aws_s3_bucket.unprotected : k => b.id })
  bucket_arns = merge({ for k, b in aws_s3_bucket.protected : k => b.arn }, { for k, b in aws_s3_bucket.unprotected : k => b.arn })
  tags        = merge({ "edp:module" = "data_lake" }, var.tags)
}

# prevent_destroy cannot be set from a variable, so protected and unprotected buckets are separate blocks.
resource "aws_s3_bucket" "protected" {
  for_each = local.protected
  # The per-bucket settings below reach the buckets through local.bucket_ids, which checkov's graph does not
  # follow; tests/terraform/test_data_lake.py asserts each of them on every bucket instead.
  #checkov:skip=CKV_AWS_21:versioning is aws_s3_bucket_versioning.this (via local.bucket_ids), asserted by test_data_lake
  #checkov:skip=CKV_AWS_145:SSE-KMS is aws_s3_bucket_server_side_encryption_configuration.this, asserted by test_data_lake
  #checkov:skip=CKV2_AWS_6:the public access block is aws_s3_bucket_public_access_block.this, asserted by test_data_lake
  #checkov:skip=CKV2_AWS_61:the lifecycle is aws_s3_bucket_lifecycle_configuration.this, asserted by test_data_lake
  #checkov:skip=CKV_AWS_18:access logging is aws_s3_bucket_logging.this into the access_logs bucket, asserted by test_data_lake
  #checkov:skip=CKV_AWS_144:single-region platform by design; versioning, prevent_destroy and the source database (DMS reload) are the recovery path, not a second-region copy
  #checkov:skip=CKV2_AWS_62:no consumer of object events: the pipeline runs on a schedule (Step Functions / Airflow), not on S3 events

  bucket = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  tags   = merge(local.tags, { "edp:layer" = each.key, "edp:data" = "true" })

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket" "unprotected" {
  for_each = local.unprotected
  # The per-bucket settings below reach the buckets through local.bucket_ids, which checkov's graph does not
  # follow; tests/terraform/test_data_lake.py asserts each of them on every bucket instead.
  #checkov:skip=CKV_AWS_21:versioning is aws_s3_bucket_versioning.this (via local.bucket_ids), asserted by test_data_lake
  #checkov:skip=CKV_AWS_145:SSE-KMS is aws_s3_bucket_server_side_encryption_configuration.this, asserted by test_data_lake
  #checkov:skip=CKV2_AWS_6:the public access block is aws_s3_bucket_public_access_block.this, asserted by test_data_lake
  #checkov:skip=CKV2_AWS_61:the lifecycle is aws_s3_bucket_lifecycle_configuration.this, asserted by test_data_lake
  #checkov:skip=CKV_AWS_18:access logging is aws_s3_bucket_logging.this into the access_logs bucket, asserted by test_data_lake
  #checkov:skip=CKV_AWS_144:single-region platform by design; versioning, prevent_destroy and the source database (DMS reload) are the recovery path, not a second-region copy
  #checkov:skip=CKV2_AWS_62:no consumer of object events: the pipeline runs on a schedule (Step Functions / Airflow), not on S3 events

  bucket = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  # a throw-away lake (protect_data = false) is destroyed with its contents, every object version and
  # delete marker included; otherwise a non-empty bucket stops the destroy (artifacts, Athena results)
  force_destroy = !var.protect_data
  tags          = merge(local.tags, { "edp:layer" = each.key, "edp:data" = tostring(each.value.data) })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets
  bucket   = local.bucket_ids[each.key]

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets
  bucket   = local.bucket_ids[each.key]

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets
  bucket   = local.bucket_ids[each.key]

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets
  bucket   = local.bucket_ids[each.key]

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arns[each.key], "${local.bucket_arns[each.key]}/*"]

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

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets
  bucket   = local.bucket_ids[each.key]
  policy   = data.aws_iam_policy_document.tls_only[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets
  bucket   = local.bucket_ids[each.key]

  rule {
    id     = "housekeeping"
    status = "Enabled"

    filter {
      prefix = ""
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }

    dynamic "transition" {
      for_each = each.key == "bronze" ? [var.bronze_infrequent_access_days] : []
      content {
        days          = transition.value
        storage_class = "STANDARD_IA"
      }
    }

    dynamic "expiration" {
      for_each = each.key == "athena_results" ? [var.athena_results_days] : []
      content {
        days = expiration.value
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# -- server access logs of every lake bucket -------------------------------------------------------------
# S3 delivers access logs with its own service principal; the log bucket uses SSE-S3, which log delivery
# always supports (SSE-KMS would need the log service in the platform key's policy), and holds no lake data.
data "aws_caller_identity" "current" {}

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:this is the access-log target; logging it into itself would log its own log writes
  #checkov:skip=CKV_AWS_145:S3 server access log delivery is only guaranteed into SSE-S3 buckets; access logs carry no lake data
  #checkov:skip=CKV_AWS_144:single-region platform by design; access logs are kept for audit in-region
  #checkov:skip=CKV2_AWS_62:nothing consumes access-log object events; logs are read on demand (Athena)
  bucket = "${var.name_prefix}-access-logs"
  # audit logs: a protected lake refuses to destroy a non-empty log bucket; a throw-away one empties it
  force_destroy = !var.protect_data
  tags          = merge(local.tags, { "edp:layer" = "access_logs", "edp:data" = "false" })
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = concat(values(local.bucket_arns), var.extra_logged_bucket_arns)
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]

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

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = data.aws_iam_policy_document.access_logs.json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "retention"
    status = "Enabled"

    filter {
      prefix = ""
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    expiration {
      days = var.access_log_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

resource "aws_s3_bucket_logging" "this" {
  for_each = local.buckets
  bucket   = local.bucket_ids[each.key]

  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${local.bucket_ids[each.key]}/"

  depends_on = [aws_s3_bucket_policy.access_logs]
}
