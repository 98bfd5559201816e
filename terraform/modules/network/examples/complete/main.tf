# Runnable example: the VPC, subnets, gateways, S3 endpoint and tier security groups against the local AWS emulator.
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

resource "aws_kms_key" "platform" {
  #checkov:skip=CKV2_AWS_64:emulator stand-in for iam_metadata's platform key, which has an explicit key policy
  description         = "EDP platform key (local example)"
  enable_key_rotation = true
}

module "network" {
  source = "../.."

  name_prefix       = "edp-example"
  azs               = ["eu-central-1a", "eu-central-1b"]
  alb_ingress_cidrs = ["203.0.113.0/24"]
  kms_key_arn       = aws_kms_key.platform.arn
}

output "vpc_id" {
  value = module.network.vpc_id
}

output "private_subnet_ids" {
  value = module.network.private_subnet_ids
}

output "public_subnet_ids" {
  value = module.network.public_subnet_ids
}

output "security_group_ids" {
  value = module.network.security_group_ids
}

output "s3_endpoint_id" {
  value = module.network.s3_endpoint_id
}

output "flow_log_group_name" {
  value = module.network.flow_log_group_name
}

output "kms_key_arn" {
  value = aws_kms_key.platform.arn
}
