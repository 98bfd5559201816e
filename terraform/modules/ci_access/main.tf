# CI's access to one environment, with no stored keys: GitHub Actions exchanges its OIDC token for a role.
# A pull request may only plan (read-only, plus the state lock it must take); the refs or GitHub
# environment an environment deploys from may apply. The roles are resources of the foundation they deploy,
# so the first apply of an environment is made once by a person (README: the promotion path).
locals {
  issuer      = "token.actions.githubusercontent.com"
  partition   = data.aws_partition.current.partition
  provider    = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:${local.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.issuer}"
  state_arn   = "arn:${local.partition}:s3:::${var.state_bucket}"
  name_prefix = var.name_prefix
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_iam_openid_connect_provider" "github" {
  count           = var.create_oidc_provider ? 1 : 0
  url             = "https://${local.issuer}"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"] # AWS no longer checks it for this issuer; the API still wants one
  tags            = var.tags
}

data "aws_iam_policy_document" "trust" {
  #checkov:skip=CKV_AWS_358:each sub is repo:<owner>/<name>:<subject>, built per role (checkov cannot resolve the for expression); variables refuse * and pull_request for deploys and tests/terraform/test_ci_access.py asserts the rendered policy
  for_each = { plan = var.plan_subjects, deploy = var.deploy_subjects }

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "${local.issuer}:sub"
      values   = [for s in each.value : "repo:${var.repository}:${s}"]
    }
  }
}

# -- plan: read the account and the environment's state, take and release the state lock -------------------
resource "aws_iam_role" "plan" {
  count                = length(var.plan_subjects) > 0 ? 1 : 0
  name                 = "${local.name_prefix}-ci-plan"
  description          = "GitHub Actions: terraform plan of ${local.name_prefix} on pull requests (read-only)."
  assume_role_policy   = data.aws_iam_policy_document.trust["plan"].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  count      = length(aws_iam_role.plan)
  role       = aws_iam_role.plan[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

data "aws_iam_policy_document" "plan_state" {
  statement {
    sid       = "ReadStates"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [local.state_arn, "${local.state_arn}/${var.state_key_prefix}*"]
  }
  statement {
    sid       = "TakeStateLocks"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.state_arn}/${var.state_key_prefix}*.tflock"]
  }
}

resource "aws_iam_role_policy" "plan_state" {
  count  = length(aws_iam_role.plan)
  name   = "terraform-state"
  role   = aws_iam_role.plan[0].id
  policy = data.aws_iam_policy_document.plan_state.json
}

# -- deploy: apply the foundation and sync MWAA; IAM only on this environment's names ----------------------
resource "aws_iam_role" "deploy" {
  name                 = "${local.name_prefix}-ci-deploy"
  description          = "GitHub Actions: terraform apply of ${local.name_prefix}'s foundation and the MWAA deploy."
  assume_role_policy   = data.aws_iam_policy_document.trust["deploy"].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "deploy_services" {
  role       = aws_iam_role.deploy.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/PowerUserAccess" # every service but IAM and Organizations
}

data "aws_iam_policy_document" "deploy_iam" {
  statement {
    sid = "ManageThisEnvironmentsRolesAndPolicies"
    actions = ["iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole",
      "iam:UntagRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
      "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary", "iam:PassRole", "iam:CreatePolicy",
      "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:TagPolicy", "iam:UntagPolicy",
    "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile"]
    resources = [
      "arn:${local.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${local.name_prefix}-*",
      "arn:${local.partition}:iam::${data.aws_caller_identity.current.account_id}:policy/${local.name_prefix}-*",
      "arn:${local.partition}:iam::${data.aws_caller_identity.current.account_id}:instance-profile/${local.name_prefix}-*",
    ]
  }
  statement {
    sid       = "ManageTheGitHubProvider"
    actions   = ["iam:CreateOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint", "iam:TagOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider"]
    resources = [local.provider]
  }
  statement {
    sid       = "CreateServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${data.aws_caller_identity.current.account_id}:role/aws-service-role/*"]
  }
  statement {
    sid       = "WriteStates"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]
    resources = [local.state_arn, "${local.state_arn}/${var.state_key_prefix}*"]
  }
}

resource "aws_iam_role_policy" "deploy_iam" {
  name   = "iam-and-state"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy_iam.json
}
