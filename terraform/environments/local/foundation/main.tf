# The local environment's foundation, against the local AWS emulator; state under .edp/terraform/local/.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }

  backend "local" {}
}

variable "endpoint" {
  description = "URL of the local AWS emulator (`edp emulator`), e.g. http://127.0.0.1:4566."
  type        = string
}

provider "aws" {
  region                      = "eu-central-1"
  access_key                  = "emulator"
  secret_key                  = "emulator"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true

  endpoints {
    athena             = var.endpoint
    cloudwatch         = var.endpoint
    dms                = var.endpoint
    ec2                = var.endpoint
    ecr                = var.endpoint
    ecs                = var.endpoint
    events             = var.endpoint
    glue               = var.endpoint
    iam                = var.endpoint
    kms                = var.endpoint
    logs               = var.endpoint
    mwaa               = var.endpoint
    rds                = var.endpoint
    redshiftserverless = var.endpoint
    s3                 = var.endpoint
    secretsmanager     = var.endpoint
    sfn                = var.endpoint
    sns                = var.endpoint
    ssm                = var.endpoint
    sts                = var.endpoint
  }

  default_tags {
    tags = { "edp:environment" = "local" }
  }
}

module "foundation" {
  source = "../../../stacks/foundation"

  name_prefix      = "edp-local"
  environment      = "local"
  azs              = ["eu-central-1a", "eu-central-1b"]
  protect_data     = false # throwaway: `edp foundation destroy` must be able to clean the emulator
  scripts_dir      = "${path.root}/../../../../glue_scripts"
  schedule_enabled = false
}

output "session_inputs" {
  description = "Read by this environment's session root."
  value       = module.foundation.session_inputs
}

output "bucket_names" {
  description = "Lake buckets."
  value       = module.foundation.bucket_names
}

output "glue_job_name" {
  description = "Bronze->Silver Glue job."
  value       = module.foundation.glue_job_name
}

output "crawler_names" {
  description = "Crawler per layer."
  value       = module.foundation.crawler_names
}

output "state_machine_arn" {
  description = "Lean-path pipeline state machine."
  value       = module.foundation.state_machine_arn
}

output "alarm_topic_arn" {
  description = "SNS topic for alarms and failure callbacks."
  value       = module.foundation.alarm_topic_arn
}

output "ecs" {
  description = "Where the dbt container runs."
  value       = module.foundation.ecs
}

output "foundation_parameter" {
  description = "SSM parameter holding the names and ARNs the pipeline's workers and the MWAA deploy read."
  value       = module.foundation.foundation_parameter
}
