# Runnable example: the lake against the local AWS emulator (`edp emulator`), unprotected so it can
# be destroyed again.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}

variable "protect_data" {
  description = "prevent_destroy on data buckets; false here so the example can be destroyed again."
  type        = bool
  default     = false
}

variable "name_prefix" {
  description = "Bucket name prefix."
  type        = string
  default     = "edp-example"
}

provider "aws" {
  region = "eu-central-1"
}

resource "aws_kms_key" "lake" {
  #checkov:skip=CKV2_AWS_64:emulator stand-in for iam_metadata's platform key, which has an explicit key policy
  description         = "EDP lake encryption (local example)"
  enable_key_rotation = true
}

module "data_lake" {
  source = "../.."

  name_prefix  = var.name_prefix
  kms_key_arn  = aws_kms_key.lake.arn
  protect_data = var.protect_data
}

output "bucket_names" {
  value = module.data_lake.bucket_names
}

output "access_log_bucket_name" {
  value = module.data_lake.access_log_bucket_name
}

output "kms_key_arn" {
  value = aws_kms_key.lake.arn
}
