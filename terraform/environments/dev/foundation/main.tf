# The dev foundation: applied by CI or a person (never by a DAG); state in S3, locked by S3's lockfile.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }

  # bucket: `-backend-config=bucket=<state bucket>` (edp.environments passes EDP_TF_STATE_BUCKET)
  backend "s3" {
    key          = "dev/foundation.tfstate"
    region       = "eu-central-1"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = "eu-central-1"

  default_tags {
    tags = { "edp:environment" = "dev", "edp:managed-by" = "terraform" }
  }
}

variable "state_bucket" {
  description = "Bucket holding this environment's Terraform states (edp.environments passes EDP_TF_STATE_BUCKET)."
  type        = string
}

variable "alarm_emails" {
  description = "Who is told about dev alarms."
  type        = list(string)
  default     = []
}

variable "mwaa_files" {
  description = "Files from `edp mwaa package` (requirements.txt, startup.sh, plugins.zip)."
  type = object({
    requirements_path   = optional(string)
    startup_script_path = optional(string)
    plugins_zip_path    = optional(string)
  })
  default = {}
}

module "foundation" {
  source = "../../../stacks/foundation"

  name_prefix      = "edp-dev"
  environment      = "dev"
  state_bucket     = var.state_bucket
  azs              = ["eu-central-1a", "eu-central-1b"]
  cidr_block       = "10.20.0.0/16"
  scripts_dir      = "${path.root}/../../../../glue_scripts"
  glue_workers     = 2
  schedule_enabled = true
  alarm_emails     = var.alarm_emails
  enable_mwaa      = false
  mwaa = merge(var.mwaa_files, {
    environment_class = "mw1.small"
    max_workers       = 2
  })
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
