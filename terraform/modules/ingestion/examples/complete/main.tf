# Runnable example: the session's source database and DMS task against the local AWS emulator,
# with the prerequisites (key, network, Bronze bucket, DMS role) composed here.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.88, < 6.0" # 5.88: secret_string_wo
    }
  }
}

variable "tables" {
  description = "Tables to replicate; empty replicates the whole schema."
  type        = list(string)
  default     = ["customers", "orders"]
}

variable "dms_instance_class" {
  description = "DMS replication instance class."
  type        = string
  default     = "dms.t3.micro"
}

provider "aws" {
  region = "eu-central-1"
}

locals {
  azs = ["eu-central-1a", "eu-central-1b"]
}

resource "aws_kms_key" "platform" {
  #checkov:skip=CKV2_AWS_64:emulator stand-in for iam_metadata's platform key, which has an explicit key policy
  description         = "EDP platform key (local example)"
  enable_key_rotation = true
}

resource "aws_vpc" "this" {
  # emulator stand-in for network's VPC, which has flow logs and a closed default security group
  #checkov:skip=CKV2_AWS_11:emulator stand-in for network's VPC (flow logs there)
  #checkov:skip=CKV2_AWS_12:emulator stand-in for network's VPC (default security group closed there)
  cidr_block = "10.20.0.0/16"
}

resource "aws_subnet" "private" {
  count             = length(local.azs)
  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(aws_vpc.this.cidr_block, 8, count.index)
}

resource "aws_security_group" "tier" {
  #checkov:skip=CKV2_AWS_5:attached inside the module, to the RDS instance and the DMS replication instance
  for_each    = toset(["rds", "dms"])
  name        = "edp-example-${each.key}"
  description = "EDP ${each.key} tier (local example)"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group_rule" "rds_from_dms" {
  type                     = "ingress"
  description              = "DMS reads the source database"
  security_group_id        = aws_security_group.tier["rds"].id
  source_security_group_id = aws_security_group.tier["dms"].id
  protocol                 = "tcp"
  from_port                = 5432
  to_port                  = 5432
}

resource "aws_s3_bucket" "bronze" {
  # emulator stand-in for data_lake's bronze bucket, which is encrypted, versioned, private and logged
  #checkov:skip=CKV_AWS_18:emulator stand-in for data_lake's bronze bucket (access-logged there)
  #checkov:skip=CKV_AWS_21:emulator stand-in for data_lake's bronze bucket (versioned there)
  #checkov:skip=CKV_AWS_144:emulator stand-in for data_lake's bronze bucket; the platform is single-region
  #checkov:skip=CKV_AWS_145:emulator stand-in for data_lake's bronze bucket (SSE-KMS there)
  #checkov:skip=CKV2_AWS_6:emulator stand-in for data_lake's bronze bucket (public access blocked there)
  #checkov:skip=CKV2_AWS_61:emulator stand-in for data_lake's bronze bucket (lifecycle there)
  #checkov:skip=CKV2_AWS_62:emulator stand-in for data_lake's bronze bucket; nothing consumes its events
  bucket        = "edp-example-bronze"
  force_destroy = true
}

resource "aws_iam_role" "dms" {
  name = "edp-example-dms"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "dms.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy" "dms_bronze" {
  name = "write-bronze"
  role = aws_iam_role.dms.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["s3:PutObject", "s3:DeleteObject", "s3:PutObjectTagging"], Resource = "${aws_s3_bucket.bronze.arn}/*" },
      { Effect = "Allow", Action = "s3:ListBucket", Resource = aws_s3_bucket.bronze.arn },
      { Effect = "Allow", Action = ["kms:GenerateDataKey", "kms:Decrypt"], Resource = aws_kms_key.platform.arn },
    ]
  })
}

module "ingestion" {
  source = "../.."

  name_prefix        = "edp-example"
  session_id         = "20261123090000"
  subnet_ids         = aws_subnet.private[*].id
  security_group_ids = { for k, sg in aws_security_group.tier : k => sg.id }
  kms_key_arn        = aws_kms_key.platform.arn
  bronze_bucket_name = aws_s3_bucket.bronze.id
  dms_s3_role_arn    = aws_iam_role.dms.arn
  tables             = var.tables
  dms_instance_class = var.dms_instance_class
  db_instance_class  = "db.t4g.micro"
  allocated_storage  = 20
}

output "db_instance_id" {
  value = module.ingestion.db_instance_id
}

output "db_address" {
  value = module.ingestion.db_address
}

output "db_port" {
  value = module.ingestion.db_port
}

output "db_name" {
  value = module.ingestion.db_name
}

output "master_secret_arn" {
  value = module.ingestion.master_secret_arn
}

output "final_snapshot_identifier" {
  value = module.ingestion.final_snapshot_identifier
}

output "replication_instance_arn" {
  value = module.ingestion.replication_instance_arn
}

output "replication_task_arn" {
  value = module.ingestion.replication_task_arn
}

output "replication_task_id" {
  value = module.ingestion.replication_task_id
}

output "source_endpoint_arn" {
  value = module.ingestion.source_endpoint_arn
}

output "target_endpoint_arn" {
  value = module.ingestion.target_endpoint_arn
}

output "source_secret_arn" {
  value = module.ingestion.source_secret_arn
}

output "secrets_access_role_arn" {
  value = module.ingestion.secrets_access_role_arn
}
