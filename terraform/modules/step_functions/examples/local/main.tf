# Runnable example: the state machine, its role and nightly schedule against the local AWS emulator.
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
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true

  endpoints {
    sts            = var.endpoint
    iam            = var.endpoint
    sfn            = var.endpoint
    cloudwatchlogs = var.endpoint
    cloudwatch     = var.endpoint
    events         = var.endpoint
  }
}

module "step_functions" {
  source = "../.."

  name_prefix = "edp-local"
  definition_variables = {
    session_parameter           = "/edp-local/session"
    dms_replication_instance_id = "edp-local-dms"
    dms_replication_task_id     = "edp-local-cdc"
    glue_job_bronze_to_silver   = "edp-local-bronze-to-silver"
    glue_crawler_silver         = "edp-local-silver"
    ecs_cluster_arn             = "arn:aws:ecs:eu-central-1:123456789012:cluster/edp-local"
    dbt_task_definition_arn     = "arn:aws:ecs:eu-central-1:123456789012:task-definition/edp-local-dbt:1"
    dbt_container_name          = "dbt"
    private_subnet_a            = "subnet-0aaaaaaaaaaaaaaaa"
    private_subnet_b            = "subnet-0bbbbbbbbbbbbbbbb"
    ecs_security_group_id       = "sg-0cccccccccccccccc"
  }
}

output "state_machine_arn" {
  value = module.step_functions.state_machine_arn
}

output "schedule_rule_name" {
  value = module.step_functions.schedule_rule_name
}
