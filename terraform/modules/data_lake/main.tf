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

  bucket = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  tags   = merge(local.tags, { "edp:layer" = each.key, "edp:data" = "true" })

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket" "unprotected" {
  for_each = local.unprotected

  bucket = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  tags   = merge(local.tags, { "edp:layer" = each.key, "edp:data" = tostring(each.value.data) })
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
