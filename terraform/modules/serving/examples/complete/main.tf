# Runnable example: the serving layer (Redshift Serverless over Gold) in its two halves, as the stacks
# use it: the namespace (the data, the foundation's) and a workgroup attached to it by name (the compute,
# a session's). The emulator creates the key, Gold bucket, catalog database and network, and stands in
# for Redshift Serverless (edp_dev.emulator.redshift_serverless).
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}

variable "base_capacity" {
  description = "Base RPUs of the workgroup."
  type        = number
  default     = 16
}

variable "protect_data" {
  description = "prevent_destroy on the namespace; false here so the example can be destroyed again."
  type        = bool
  default     = false
}

provider "aws" {
  region = "eu-central-1"
}

resource "aws_kms_key" "platform" {
  #checkov:skip=CKV2_AWS_64:emulator stand-in for iam_metadata's platform key, which has an explicit key policy
  description         = "EDP platform key (local example)"
  enable_key_rotation = true
}

resource "aws_s3_bucket" "gold" {
  #checkov:skip=CKV_AWS_18:emulator stand-in for data_lake's gold bucket (access-logged there)
  #checkov:skip=CKV_AWS_21:emulator stand-in for data_lake's gold bucket (versioned there)
  #checkov:skip=CKV_AWS_144:emulator stand-in for data_lake's gold bucket; the platform is single-region
  #checkov:skip=CKV_AWS_145:emulator stand-in for data_lake's gold bucket (SSE-KMS there)
  #checkov:skip=CKV2_AWS_6:emulator stand-in for data_lake's gold bucket (public access blocked there)
  #checkov:skip=CKV2_AWS_61:emulator stand-in for data_lake's gold bucket (lifecycle there)
  #checkov:skip=CKV2_AWS_62:emulator stand-in for data_lake's gold bucket; nothing consumes its events
  bucket = "edp-example-gold"
}

resource "aws_glue_catalog_database" "gold" {
  name = "edp_example_gold"
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:emulator stand-in for network's VPC (flow logs there)
  #checkov:skip=CKV2_AWS_12:emulator stand-in for network's VPC (default security group closed there)
  cidr_block = "10.20.0.0/16"
}

resource "aws_subnet" "private" {
  for_each          = { a = 1, b = 2, c = 3 }
  vpc_id            = aws_vpc.this.id
  cidr_block        = "10.20.${each.value}.0/24"
  availability_zone = "eu-central-1${each.key}"
}

resource "aws_security_group" "redshift" {
  #checkov:skip=CKV2_AWS_5:attached to the workgroup through module.workgroup's security_group_ids, a module call checkov does not follow
  name        = "edp-example-redshift"
  description = "Stand-in for network's tier group of the serving workgroup"
  vpc_id      = aws_vpc.this.id
}

# the foundation's half: the namespace and its default role
module "namespace" {
  source = "../.."

  name_prefix        = "edp-example"
  create_workgroup   = false
  protect_data       = var.protect_data
  kms_key_arn        = aws_kms_key.platform.arn
  gold_bucket_arn    = aws_s3_bucket.gold.arn
  gold_prefix        = "marts/"
  glue_database_name = aws_glue_catalog_database.gold.name
}

# a session's half: the workgroup on the existing namespace, by name
module "workgroup" {
  source = "../.."

  name_prefix        = "edp-example"
  create_namespace   = false
  namespace_name     = module.namespace.namespace_name
  base_capacity      = var.base_capacity
  max_capacity       = 64
  subnet_ids         = [for s in aws_subnet.private : s.id]
  security_group_ids = [aws_security_group.redshift.id]
  usage_limit        = { rpu_hours = 200 }
}

output "namespace_name" {
  value = module.namespace.namespace_name
}

output "workgroup_namespace_name" {
  value = module.workgroup.namespace_name
}

output "workgroup_name" {
  value = module.workgroup.workgroup_name
}

output "endpoint_address" {
  value = module.workgroup.endpoint_address
}

output "endpoint_port" {
  value = module.workgroup.endpoint_port
}

output "database_name" {
  value = module.namespace.database_name
}

output "admin_secret_arn" {
  value = module.namespace.admin_secret_arn
}

output "role_arn" {
  value = module.namespace.role_arn
}

output "kms_key_arn" {
  value = aws_kms_key.platform.arn
}
