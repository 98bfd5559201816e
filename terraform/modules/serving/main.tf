data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  tags      = merge({ "edp:module" = "serving" }, var.tags)
  name      = "${var.name_prefix}-serving"
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition
  catalog   = "arn:${local.partition}:glue:${local.region}:${local.account}"

  # The service answers with every parameter, so the full set is declared here (otherwise every plan
  # shows a diff); var.config_parameters overrides, and require_ssl is pinned on last.
  config_parameters = merge(
    {
      auto_mv                          = "true"
      datestyle                        = "ISO, MDY"
      enable_case_sensitive_identifier = "false"
      enable_user_activity_logging     = "true"
      query_group                      = "default"
      search_path                      = "$user, public"
      max_query_execution_time         = "14400"
      use_fips_ssl                     = "false"
    },
    var.config_parameters,
    { require_ssl = "true" },
  )
}

# -- the namespace's default role: Spectrum reads Gold through the catalog, nothing else --------------
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "spectrum" {
  name                 = "${local.name}-spectrum"
  description          = "Default role of the ${local.name} namespace: read-only Spectrum access to Gold"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = local.tags
}

data "aws_iam_policy_document" "spectrum" {
  statement {
    sid       = "ReadGoldObjects"
    actions   = ["s3:GetObject"]
    resources = ["${var.gold_bucket_arn}/${var.gold_prefix}*"]
  }
  statement {
    sid       = "LocateGoldBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.gold_bucket_arn]
  }
  statement {
    sid       = "ListGoldPrefix"
    actions   = ["s3:ListBucket"]
    resources = [var.gold_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.gold_prefix}*"]
    }
  }
  statement {
    sid     = "ReadGoldCatalog"
    actions = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"]
    resources = ["${local.catalog}:catalog", "${local.catalog}:database/${var.glue_database_name}",
    "${local.catalog}:table/${var.glue_database_name}/*"]
  }
  statement {
    sid       = "DecryptGoldThroughS3"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "spectrum" {
  name   = "read-gold"
  role   = aws_iam_role.spectrum.id
  policy = data.aws_iam_policy_document.spectrum.json
}

# -- storage: the namespace, encrypted, its admin password generated into Secrets Manager --------------
resource "aws_redshiftserverless_namespace" "this" {
  namespace_name = local.name
  db_name        = var.database_name
  admin_username = var.admin_username

  # Redshift generates the password and keeps it in a Secrets Manager secret under the platform key,
  # so no password is ever in a variable, the state or an output.
  manage_admin_password            = true
  admin_password_secret_kms_key_id = var.kms_key_arn
  kms_key_id                       = var.kms_key_arn

  default_iam_role_arn = aws_iam_role.spectrum.arn
  iam_roles            = [aws_iam_role.spectrum.arn]
  log_exports          = var.log_exports
  tags                 = local.tags

  depends_on = [aws_iam_role_policy.spectrum]
}

# -- compute: the workgroup, private and routed through the VPC -----------------------------------------
resource "aws_redshiftserverless_workgroup" "this" {
  workgroup_name = local.name
  namespace_name = aws_redshiftserverless_namespace.this.namespace_name

  base_capacity        = var.base_capacity
  max_capacity         = var.max_capacity
  publicly_accessible  = false
  enhanced_vpc_routing = true
  subnet_ids           = var.subnet_ids
  security_group_ids   = var.security_group_ids

  dynamic "config_parameter" {
    for_each = local.config_parameters
    content {
      parameter_key   = config_parameter.key
      parameter_value = config_parameter.value
    }
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.max_capacity == null || try(var.max_capacity >= var.base_capacity, false)
      error_message = "max_capacity must be at least base_capacity."
    }
    precondition {
      condition     = !contains(var.log_exports, "useractivitylog") || local.config_parameters.enable_user_activity_logging == "true"
      error_message = "Exporting useractivitylog needs config_parameters.enable_user_activity_logging = \"true\"."
    }
  }
}

# -- cost guard: RPU-hours per period --------------------------------------------------------------------
resource "aws_redshiftserverless_usage_limit" "compute" {
  count = var.usage_limit == null ? 0 : 1

  resource_arn  = aws_redshiftserverless_workgroup.this.arn
  usage_type    = "serverless-compute"
  amount        = var.usage_limit.rpu_hours
  period        = var.usage_limit.period
  breach_action = var.usage_limit.breach_action
}
