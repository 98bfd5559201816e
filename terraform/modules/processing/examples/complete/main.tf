# Runnable example: Glue jobs and crawlers as a task list names them (the resources file's glue_jobs and
# crawlers), and the Athena workgroup, against the local AWS emulator.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}

variable "scripts_dir" {
  description = "The repo's glue_scripts/ folder."
  type        = string
  default     = "../../../../../glue_scripts"
}

provider "aws" {
  region = "eu-central-1"
}

resource "aws_kms_key" "platform" {
  #checkov:skip=CKV2_AWS_64:emulator stand-in for iam_metadata's platform key, which has an explicit key policy
  description         = "EDP platform key (local example)"
  enable_key_rotation = true
}

resource "aws_s3_bucket" "artifacts" {
  # emulator stand-in for data_lake's artifacts bucket, which is encrypted, versioned, private and logged
  #checkov:skip=CKV_AWS_18:emulator stand-in for data_lake's artifacts bucket (access-logged there)
  #checkov:skip=CKV_AWS_21:emulator stand-in for data_lake's artifacts bucket (versioned there)
  #checkov:skip=CKV_AWS_144:emulator stand-in for data_lake's artifacts bucket; the platform is single-region
  #checkov:skip=CKV_AWS_145:emulator stand-in for data_lake's artifacts bucket (SSE-KMS there)
  #checkov:skip=CKV2_AWS_6:emulator stand-in for data_lake's artifacts bucket (public access blocked there)
  #checkov:skip=CKV2_AWS_61:emulator stand-in for data_lake's artifacts bucket (lifecycle there)
  #checkov:skip=CKV2_AWS_62:emulator stand-in for data_lake's artifacts bucket; nothing consumes its events
  bucket = "edp-example-artifacts"
}

resource "aws_iam_role" "glue" {
  name = "edp-example-glue"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "glue.amazonaws.com" } }]
  })
}

resource "aws_glue_catalog_database" "layer" {
  for_each = toset(["bronze", "silver", "gold"])
  name     = "edp_example_${each.key}"
}

module "processing" {
  source = "../.."

  name_prefix = "edp-example"
  bucket_names = {
    bronze         = "edp-example-bronze"
    silver         = "edp-example-silver"
    gold           = "edp-example-gold"
    artifacts      = aws_s3_bucket.artifacts.id
    athena_results = "edp-example-athena-results"
  }
  glue_database_names = { for k, d in aws_glue_catalog_database.layer : k => d.name }
  glue_role_arn       = aws_iam_role.glue.arn
  kms_key_arn         = aws_kms_key.platform.arn
  scripts_dir         = var.scripts_dir
  # by task id, as `edp sfn render` writes them: two jobs sharing one script (uploaded once), two crawlers
  glue_jobs = {
    bronze_to_silver = { name_suffix = "bronze-to-silver", script = "bronze_to_silver.py", workers = 4, mapped = true }
    rebuild_silver   = { name_suffix = "rebuild-silver", script = "bronze_to_silver.py" }
  }
  crawlers = {
    crawl_silver = { name_suffix = "crawl-silver", layer = "silver" }
    crawl_gold   = { name_suffix = "crawl-gold", layer = "gold" }
  }
}

output "glue_jobs" {
  value = module.processing.glue_jobs
}

output "crawlers" {
  value = module.processing.crawlers
}

output "athena_workgroup" {
  value = module.processing.athena_workgroup
}

output "script_locations" {
  value = module.processing.script_locations
}
