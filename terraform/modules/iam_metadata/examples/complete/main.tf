# Runnable example: the platform key, roles and catalog with the lake, against the local AWS emulator.
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

module "iam_metadata" {
  source = "../.."

  name_prefix          = "edp-example"
  glue_database_prefix = "edp_example"
  bucket_arns          = { for k in ["bronze", "silver", "gold", "artifacts", "athena_results"] : k => "arn:aws:s3:::edp-example-${replace(k, "_", "-")}" }
  session_runner = {
    state_bucket     = "edp-example-tfstate"
    state_key_prefix = "session/"
    read_state_keys  = ["foundation/terraform.tfstate"]
  }
}

output "kms_key_arn" {
  value = module.iam_metadata.kms_key_arn
}

output "role_arns" {
  value = module.iam_metadata.role_arns
}

output "glue_database_names" {
  value = module.iam_metadata.glue_database_names
}

output "session_runner_role_arn" {
  value = module.iam_metadata.session_runner_role_arn
}

output "session_boundary_arn" {
  value = module.iam_metadata.session_boundary_arn
}
