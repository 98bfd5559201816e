# Runnable example: CI's plan and deploy roles for one environment, trusted through GitHub's OIDC provider.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}

provider "aws" {
  region = "eu-central-1"
}

module "ci_access" {
  source = "../../"

  name_prefix      = "edp-example"
  repository       = "edp-platform/edp"
  plan_subjects    = ["pull_request"]
  deploy_subjects  = ["ref:refs/heads/main"]
  state_bucket     = "edp-example-tfstate"
  state_key_prefix = "example/"
}

output "plan_role_arn" {
  value = module.ci_access.plan_role_arn
}

output "deploy_role_arn" {
  value = module.ci_access.deploy_role_arn
}

output "oidc_provider_arn" {
  value = module.ci_access.oidc_provider_arn
}
