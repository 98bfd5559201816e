data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

# Two halves, each behind a toggle: the namespace (the data: storage, admin secret, default role, log
# exports) lives as long as the environment, in the foundation; the workgroup (the compute, billed per
# RPU-hour) and its usage limit come and go with a session, attached to the namespace by name.
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
  count = var.create_namespace ? 1 : 0

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
  count = var.create_namespace ? 1 : 0

  name                 = "${local.name}-spectrum"
  description          = "Default role of the ${local.name} namespace: read-only Spectrum access to Gold"
  assume_role_policy   = data.aws_iam_policy_document.assume[0].json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = local.tags
}

data "aws_iam_policy_document" "spectrum" {
  count = var.create_namespace ? 1 : 0

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

  lifecycle {
    precondition {
      condition     = var.kms_key_arn != null && var.gold_bucket_arn != null && var.glue_database_name != null
      error_message = "create_namespace needs kms_key_arn, gold_bucket_arn and glue_database_name."
    }
  }
}

resource "aws_iam_role_policy" "spectrum" {
  count = var.create_namespace ? 1 : 0

  name   = "read-gold"
  role   = aws_iam_role.spectrum[0].id
  policy = data.aws_iam_policy_document.spectrum[0].json
}

# -- storage: the namespace, encrypted, its admin password generated into Secrets Manager --------------
# It keeps what was loaded into it (tables, users, grants) and the provider has no final snapshot for it,
# so, like data_lake's data buckets, it carries prevent_destroy unless protect_data is false (throw-away
# environments). prevent_destroy cannot be set from a variable: the two blocks below differ only in it.
resource "aws_redshiftserverless_namespace" "protected" {
  count = var.create_namespace && var.protect_data ? 1 : 0

  namespace_name = local.name
  db_name        = var.database_name
  admin_username = var.admin_username

  # Redshift generates the password and keeps it in a Secrets Manager secret under the platform key,
  # so no password is ever in a variable, the state or an output.
  manage_admin_password            = true
  admin_password_secret_kms_key_id = var.kms_key_arn
  kms_key_id                       = var.kms_key_arn

  default_iam_role_arn = aws_iam_role.spectrum[0].arn
  iam_roles            = [aws_iam_role.spectrum[0].arn]
  log_exports          = var.log_exports
  tags                 = local.tags

  depends_on = [aws_iam_role_policy.spectrum]

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_redshiftserverless_namespace" "unprotected" {
  count = var.create_namespace && !var.protect_data ? 1 : 0

  namespace_name = local.name
  db_name        = var.database_name
  admin_username = var.admin_username

  manage_admin_password            = true
  admin_password_secret_kms_key_id = var.kms_key_arn
  kms_key_id                       = var.kms_key_arn

  default_iam_role_arn = aws_iam_role.spectrum[0].arn
  iam_roles            = [aws_iam_role.spectrum[0].arn]
  log_exports          = var.log_exports
  tags                 = local.tags

  depends_on = [aws_iam_role_policy.spectrum]
}

locals {
  # attribute by attribute: the namespace object as a whole is sensitive (it has a password argument)
  namespace = {
    namespace_name   = one(concat(aws_redshiftserverless_namespace.protected[*].namespace_name, aws_redshiftserverless_namespace.unprotected[*].namespace_name))
    namespace_id     = one(concat(aws_redshiftserverless_namespace.protected[*].namespace_id, aws_redshiftserverless_namespace.unprotected[*].namespace_id))
    arn              = one(concat(aws_redshiftserverless_namespace.protected[*].arn, aws_redshiftserverless_namespace.unprotected[*].arn))
    admin_secret_arn = one(concat(aws_redshiftserverless_namespace.protected[*].admin_password_secret_arn, aws_redshiftserverless_namespace.unprotected[*].admin_password_secret_arn))
  }
  # the workgroup attaches to the namespace created here, or to an existing one by name
  namespace_name = var.create_namespace ? local.namespace.namespace_name : var.namespace_name
}

# -- compute: the workgroup, private and routed through the VPC -----------------------------------------
resource "aws_redshiftserverless_workgroup" "this" {
  count = var.create_workgroup ? 1 : 0

  workgroup_name = local.name
  namespace_name = local.namespace_name

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
      condition     = local.namespace_name != null && var.subnet_ids != null && var.security_group_ids != null
      error_message = "create_workgroup needs subnet_ids, security_group_ids and a namespace: create_namespace, or an existing one in namespace_name."
    }
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
  count = var.create_workgroup && var.usage_limit != null ? 1 : 0

  resource_arn  = aws_redshiftserverless_workgroup.this[0].arn
  usage_type    = "serverless-compute"
  amount        = var.usage_limit.rpu_hours
  period        = var.usage_limit.period
  breach_action = var.usage_limit.breach_action
}
