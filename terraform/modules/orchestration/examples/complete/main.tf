# Runnable example: the MWAA source bucket, its objects and the execution role against the local AWS
# emulator. moto has no MWAA, so create_environment defaults to false here; plan with
# create_environment = true to see the environment the module would create.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}

variable "create_environment" {
  description = "Also create the MWAA environment (plan only against the emulator)."
  type        = bool
  default     = false
}

variable "requirements_path" {
  description = "requirements.txt to upload; null uses files/requirements.txt."
  type        = string
  default     = null
}

variable "plugins_zip_path" {
  description = "plugins.zip to upload (the test packages the repo's plugins); null uploads none."
  type        = string
  default     = null
}

provider "aws" {
  region = "eu-central-1"
}

resource "aws_kms_key" "platform" {
  #checkov:skip=CKV2_AWS_64:emulator stand-in for iam_metadata's platform key, which has an explicit key policy
  description         = "EDP platform key (local example)"
  enable_key_rotation = true
}

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18:emulator stand-in for data_lake's access-log bucket, the log target itself
  #checkov:skip=CKV_AWS_21:emulator stand-in for data_lake's access-log bucket (versioned there)
  #checkov:skip=CKV_AWS_144:emulator stand-in for data_lake's access-log bucket; the platform is single-region
  #checkov:skip=CKV_AWS_145:emulator stand-in for data_lake's access-log bucket (SSE-S3 there, for log delivery)
  #checkov:skip=CKV2_AWS_6:emulator stand-in for data_lake's access-log bucket (public access blocked there)
  #checkov:skip=CKV2_AWS_61:emulator stand-in for data_lake's access-log bucket (lifecycle there)
  #checkov:skip=CKV2_AWS_62:emulator stand-in for data_lake's access-log bucket; nothing consumes its events
  bucket        = "edp-example-access-logs"
  force_destroy = true
}

# as data_lake's access-log bucket: S3 log delivery may write into it
data "aws_iam_policy_document" "access_logs" {
  statement {
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = data.aws_iam_policy_document.access_logs.json
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:emulator stand-in for network's VPC (flow logs there)
  #checkov:skip=CKV2_AWS_12:emulator stand-in for network's VPC (default security group closed there)
  cidr_block = "10.30.0.0/16"
}

resource "aws_subnet" "private" {
  for_each          = { a = 1, b = 2 }
  vpc_id            = aws_vpc.this.id
  cidr_block        = "10.30.${each.value}.0/24"
  availability_zone = "eu-central-1${each.key}"
}

resource "aws_security_group" "mwaa" {
  name        = "edp-example-mwaa"
  description = "Stand-in for network's mwaa tier group"
  vpc_id      = aws_vpc.this.id
}

data "aws_iam_policy_document" "pipeline" {
  statement {
    sid       = "RunPipeline"
    actions   = ["states:StartExecution", "states:DescribeExecution"]
    resources = ["arn:aws:states:eu-central-1:123456789012:stateMachine:edp-example-pipeline"]
  }
}

module "orchestration" {
  source = "../.."

  name_prefix         = "edp-example"
  kms_key_arn         = aws_kms_key.platform.arn
  requirements_path   = coalesce(var.requirements_path, "${path.module}/files/requirements.txt")
  startup_script_path = "${path.module}/files/startup.sh"
  plugins_zip_path    = var.plugins_zip_path
  extra_policies      = { pipeline = data.aws_iam_policy_document.pipeline.json }
  force_destroy       = true
  access_logging      = { target_bucket = aws_s3_bucket_policy.access_logs.bucket }

  create_environment = var.create_environment
  subnet_ids         = [for s in aws_subnet.private : s.id]
  security_group_ids = [aws_security_group.mwaa.id]
  max_workers        = 3
}

output "bucket_name" {
  value = module.orchestration.bucket_name
}

output "bucket_arn" {
  value = module.orchestration.bucket_arn
}

output "dag_s3_path" {
  value = module.orchestration.dag_s3_path
}

output "object_versions" {
  value = module.orchestration.object_versions
}

output "execution_role_name" {
  value = module.orchestration.execution_role_name
}

output "execution_role_arn" {
  value = module.orchestration.execution_role_arn
}

output "environment_name" {
  value = module.orchestration.environment_name
}

output "kms_key_arn" {
  value = aws_kms_key.platform.arn
}
