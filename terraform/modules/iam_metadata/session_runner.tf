# The role the session DAG runs `terraform apply/destroy` of the session stack as (ingestion: RDS + DMS;
# serving: Redshift Serverless). Least privilege, in three parts:
#   - the session's own resources, by name prefix where the ARN carries the name (RDS, SSM) and by the
#     session stack's tags where it does not (DMS, Redshift Serverless, the session's IAM roles);
#   - the session's roles only under the permissions boundary below, so nothing the runner creates can
#     reach further than reading Gold, the catalog and the session's database secrets;
#   - explicit denies on what loses data: buckets, catalog, key, snapshots and non-session databases.
# The emulator does not evaluate IAM, so the module test checks the documents' shape; the first real
# session apply is the proof of completeness (CloudTrail names any missing action).

locals {
  runner         = var.session_runner
  create_runner  = local.runner != null
  runner_name    = "${var.name_prefix}-session-runner"
  trusted        = !local.create_runner ? [] : local.runner.trusted_role_arns != null ? local.runner.trusted_role_arns : [aws_iam_role.service["mwaa"].arn]
  state_bucket   = local.create_runner ? "arn:${local.partition}:s3:::${local.runner.state_bucket}" : null
  session_tagged = { "aws:ResourceTag/edp:layer" = "session", "aws:ResourceTag/edp:platform" = var.name_prefix }
  session_tags   = { "aws:RequestTag/edp:layer" = "session", "aws:RequestTag/edp:platform" = var.name_prefix }
  rds            = "arn:${local.partition}:rds:${local.region}:${local.account}"
  # services the session hands roles to, and the service-linked roles their first use creates
  pass_to      = ["dms.amazonaws.com", "redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
  linked_roles = ["rds.amazonaws.com", "redshift.amazonaws.com"]
}

# -- the most any role the session creates may do ----------------------------------------------------------
data "aws_iam_policy_document" "session_boundary" {
  count = local.create_runner ? 1 : 0

  statement {
    sid       = "ReadGold"
    actions   = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.bucket_arns.gold, local.objects.gold]
  }
  statement {
    sid       = "ReadGoldCatalog"
    actions   = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"]
    resources = ["${local.catalog}:catalog", "${local.catalog}:database/${local.db.gold}", "${local.catalog}:table/${local.db.gold}/*"]
  }
  statement {
    sid     = "ReadSessionSecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [
      "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:rds!*",
      "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${var.name_prefix}-*",
    ]
  }
  statement {
    sid       = "DecryptWithThePlatformKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.platform.arn]
  }
}

resource "aws_iam_policy" "session_boundary" {
  count       = local.create_runner ? 1 : 0
  name        = "${var.name_prefix}-session-boundary"
  description = "Permissions boundary of every role the ${var.name_prefix} session stack creates"
  policy      = data.aws_iam_policy_document.session_boundary[0].json
  tags        = local.tags
}

# -- who may run the session stack ---------------------------------------------------------------------------
data "aws_iam_policy_document" "session_runner_assume" {
  count = local.create_runner ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = local.trusted
    }
  }
}

resource "aws_iam_role" "session_runner" {
  count                = local.create_runner ? 1 : 0
  name                 = local.runner_name
  description          = "Runs terraform apply/destroy of the ${var.name_prefix} session stack (RDS, DMS, Redshift Serverless)"
  assume_role_policy   = data.aws_iam_policy_document.session_runner_assume[0].json
  max_session_duration = 3600 # role chaining from the MWAA execution role caps sessions at an hour anyway
  tags                 = merge(local.tags, { "edp:service" = "session_runner" })
}

data "aws_iam_policy_document" "session_runner" {
  count = local.create_runner ? 1 : 0

  # -- Terraform state: the session's own keys and lock files, and the states it reads ----------------------
  statement {
    sid       = "StateList"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.runner.state_key_prefix}*"]
    }
  }
  statement {
    sid       = "StateReadWrite"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.state_bucket}/${local.runner.state_key_prefix}*"]
  }
  dynamic "statement" {
    for_each = length(local.runner.read_state_keys) > 0 ? [1] : []
    content {
      sid       = "StateReadOthers"
      actions   = ["s3:GetObject"]
      resources = [for key in local.runner.read_state_keys : "${local.state_bucket}/${key}"]
    }
  }

  # -- reads Terraform needs, of APIs that have no resource-level permissions --------------------------------
  statement {
    sid = "DescribeInThisRegion"
    actions = [
      "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
      "ec2:DescribeInternetGateways", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets", "ec2:DescribeVpcAttribute", "ec2:DescribeVpcs",
      "rds:DescribeDBEngineVersions", "rds:DescribeDBInstances", "rds:DescribeDBParameterGroups",
      "rds:DescribeDBParameters", "rds:DescribeDBSubnetGroups", "rds:DescribeOrderableDBInstanceOptions",
      "dms:DescribeEndpoints", "dms:DescribeReplicationInstances", "dms:DescribeReplicationSubnetGroups",
      "dms:DescribeReplicationTasks", "dms:DescribeConnections",
      "redshift-serverless:GetNamespace", "redshift-serverless:GetWorkgroup", "redshift-serverless:GetUsageLimit",
      "redshift-serverless:ListNamespaces", "redshift-serverless:ListWorkgroups", "redshift-serverless:ListUsageLimits",
      "ssm:DescribeParameters", "secretsmanager:GetRandomPassword",
    ]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  # -- ingestion: the source PostgreSQL, named with the platform prefix --------------------------------------
  statement {
    sid = "RdsSessionDatabase"
    actions = [
      "rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:RebootDBInstance", "rds:DeleteDBInstance",
      "rds:CreateDBSnapshot", "rds:CreateDBParameterGroup", "rds:ModifyDBParameterGroup",
      "rds:ResetDBParameterGroup", "rds:DeleteDBParameterGroup", "rds:CreateDBSubnetGroup",
      "rds:ModifyDBSubnetGroup", "rds:DeleteDBSubnetGroup", "rds:AddTagsToResource",
      "rds:RemoveTagsFromResource", "rds:ListTagsForResource",
    ]
    resources = [
      "${local.rds}:db:${var.name_prefix}-*", "${local.rds}:pg:${var.name_prefix}-*",
      "${local.rds}:subgrp:${var.name_prefix}-*", "${local.rds}:snapshot:${var.name_prefix}-*",
      "${local.rds}:og:default:*",
    ]
  }
  # RDS and Redshift keep the generated admin passwords in Secrets Manager through the caller.
  statement {
    sid = "ServiceManagedSecrets"
    actions = [
      "secretsmanager:CreateSecret", "secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret",
      "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret", "secretsmanager:RotateSecret",
      "secretsmanager:TagResource",
    ]
    resources = [
      "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:rds!*",
      "arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:redshift!*",
    ]
  }

  # The ingestion module copies the source's master password (an ephemeral read) into a DMS-shaped secret
  # of the session's: the one password the runner may read is that of this platform's own instances.
  statement {
    sid       = "ReadOwnDatabaseMasterSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:rds!*"]
    condition {
      test     = "StringLike"
      variable = "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn"
      values   = ["${local.rds}:db:${var.name_prefix}-*"]
    }
  }
  statement {
    sid       = "SessionSecretsCreateTagged"
    actions   = ["secretsmanager:CreateSecret", "secretsmanager:TagResource"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${var.name_prefix}-*"]
    dynamic "condition" {
      for_each = local.session_tags
      content {
        test     = "StringEquals"
        variable = condition.key
        values   = [condition.value]
      }
    }
  }
  statement {
    sid = "SessionSecretsManageTagged"
    actions = [
      "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret", "secretsmanager:GetResourcePolicy",
      "secretsmanager:ListSecretVersionIds", "secretsmanager:UntagResource",
    ]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${var.name_prefix}-*"]
    dynamic "condition" {
      for_each = local.session_tagged
      content {
        test     = "StringEquals"
        variable = condition.key
        values   = [condition.value]
      }
    }
  }

  # -- ingestion: DMS, whose ARNs carry no names, so only what the session stack tags -----------------------
  statement {
    sid = "DmsCreateTagged"
    actions = [
      "dms:CreateReplicationInstance", "dms:CreateReplicationSubnetGroup", "dms:CreateEndpoint",
      "dms:CreateReplicationTask", "dms:AddTagsToResource",
    ]
    resources = ["arn:${local.partition}:dms:${local.region}:${local.account}:*"]
    dynamic "condition" {
      for_each = local.session_tags
      content {
        test     = "StringEquals"
        variable = condition.key
        values   = [condition.value]
      }
    }
  }
  statement {
    sid = "DmsManageTagged"
    actions = [
      "dms:ModifyReplicationInstance", "dms:DeleteReplicationInstance", "dms:ModifyReplicationSubnetGroup",
      "dms:DeleteReplicationSubnetGroup", "dms:ModifyEndpoint", "dms:DeleteEndpoint",
      "dms:ModifyReplicationTask", "dms:StopReplicationTask", "dms:DeleteReplicationTask",
      "dms:RemoveTagsFromResource", "dms:ListTagsForResource",
    ]
    resources = ["arn:${local.partition}:dms:${local.region}:${local.account}:*"]
    dynamic "condition" {
      for_each = local.session_tagged
      content {
        test     = "StringEquals"
        variable = condition.key
        values   = [condition.value]
      }
    }
  }

  # -- serving: Redshift Serverless, likewise by tag -------------------------------------------------------------
  statement {
    sid       = "RedshiftServerlessCreateTagged"
    actions   = ["redshift-serverless:CreateNamespace", "redshift-serverless:CreateWorkgroup", "redshift-serverless:TagResource"]
    resources = ["arn:${local.partition}:redshift-serverless:${local.region}:${local.account}:*"]
    dynamic "condition" {
      for_each = local.session_tags
      content {
        test     = "StringEquals"
        variable = condition.key
        values   = [condition.value]
      }
    }
  }
  statement {
    sid = "RedshiftServerlessManageTagged"
    actions = [
      "redshift-serverless:UpdateNamespace", "redshift-serverless:DeleteNamespace",
      "redshift-serverless:UpdateWorkgroup", "redshift-serverless:DeleteWorkgroup",
      "redshift-serverless:CreateUsageLimit", "redshift-serverless:UntagResource",
      "redshift-serverless:ListTagsForResource",
    ]
    resources = ["arn:${local.partition}:redshift-serverless:${local.region}:${local.account}:*"]
    dynamic "condition" {
      for_each = local.session_tagged
      content {
        test     = "StringEquals"
        variable = condition.key
        values   = [condition.value]
      }
    }
  }
  statement {
    sid       = "RedshiftServerlessUsageLimits"
    actions   = ["redshift-serverless:UpdateUsageLimit", "redshift-serverless:DeleteUsageLimit"]
    resources = ["arn:${local.partition}:redshift-serverless:${local.region}:${local.account}:usagelimit/*"]
  }

  # -- the session's published outputs ------------------------------------------------------------------------
  statement {
    sid = "SessionParameter"
    actions = [
      "ssm:PutParameter", "ssm:GetParameter", "ssm:GetParameters", "ssm:DeleteParameter",
      "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource",
    ]
    resources = ["arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/${var.name_prefix}/session*"]
  }

  # -- the platform key, for the services that encrypt with it on the session's behalf ------------------------
  statement {
    sid       = "PlatformKeyUse"
    actions   = ["kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.platform.arn]
  }
  statement {
    sid       = "PlatformKeyGrantsForServices"
    actions   = ["kms:CreateGrant"]
    resources = [aws_kms_key.platform.arn]
    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }
  dynamic "statement" {
    for_each = try(local.runner.state_kms_key_arn, null) == null ? [] : [local.runner.state_kms_key_arn]
    content {
      sid       = "StateKey"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  # -- the session's own roles: only tagged as session roles and only under the boundary --------------------
  statement {
    sid       = "SessionRolesCreate"
    actions   = ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"]
    resources = ["arn:${local.partition}:iam::${local.account}:role/${var.name_prefix}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.session_boundary[0].arn]
    }
  }
  statement {
    sid = "SessionRolesManage"
    actions = [
      "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateRoleDescription",
      "iam:UpdateAssumeRolePolicy", "iam:DeleteRole",
    ]
    resources = ["arn:${local.partition}:iam::${local.account}:role/${var.name_prefix}-*"]
    dynamic "condition" {
      for_each = local.session_tagged
      content {
        test     = "StringEquals"
        variable = condition.key
        values   = [condition.value]
      }
    }
  }
  statement {
    sid       = "PassDmsRoles"
    actions   = ["iam:PassRole"]
    resources = concat([aws_iam_role.service["dms"].arn], local.runner.passable_role_arns)
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = local.pass_to
    }
  }
  statement {
    sid       = "PassSessionRoles"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account}:role/${var.name_prefix}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = local.pass_to
    }
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/edp:layer"
      values   = ["session"]
    }
  }
  statement {
    sid       = "ServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${local.account}:role/aws-service-role/*"]
    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = local.linked_roles
    }
  }

  # -- never, whatever else is attached: what loses data or widens the runner -------------------------------
  statement {
    sid    = "DenyDataLoss"
    effect = "Deny"
    actions = [
      "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucketPolicy", "s3:PutLifecycleConfiguration",
      "glue:DeleteDatabase", "glue:DeleteTable", "glue:BatchDeleteTable",
      "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy",
      "rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "DenyDeletingNonSessionDatabases"
    effect    = "Deny"
    actions   = ["rds:DeleteDBInstance", "rds:DeleteDBCluster"]
    resources = ["*"]
    condition {
      test     = "StringNotEquals"
      variable = "aws:ResourceTag/edp:layer"
      values   = ["session"]
    }
  }
  statement {
    sid    = "DenyWideningRoles"
    effect = "Deny"
    actions = [
      "iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy",
      "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "session_runner" {
  count  = local.create_runner ? 1 : 0
  name   = "least-privilege"
  role   = aws_iam_role.session_runner[0].id
  policy = data.aws_iam_policy_document.session_runner[0].json
}
