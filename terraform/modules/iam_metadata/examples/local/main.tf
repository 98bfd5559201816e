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

variable "endpoint" {
  description = "URL of the local AWS emulator, e.g. http://127.0.0.1:4566."
  type        = string
}

provider "aws" {
  region                      = "eu-central-1"
  access_key                  = "emulator"
  secret_key                  = "emulator"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true

  endpoints {
    s3   = var.endpoint
    kms  = var.endpoint
    sts  = var.endpoint
    iam  = var.endpoint
    glue = var.endpoint
  }
}

module "iam_metadata" {
  source = "../.."

  name_prefix          = "edp-local"
  glue_database_prefix = "edp_local"
  bucket_arns          = { for k in ["bronze", "silver", "gold", "artifacts", "athena_results"] : k => "arn:aws:s3:::edp-local-${replace(k, "_", "-")}" }
  session_runner = {
    state_bucket     = "edp-local-tfstate"
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
