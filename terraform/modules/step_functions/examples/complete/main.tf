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

provider "aws" {
  region = "eu-central-1"
}

module "step_functions" {
  source = "../.."

  name_prefix = "edp-example"
  definition_variables = {
    session_parameter           = "/edp-example/session"
    dms_replication_instance_id = "edp-example-dms"
    dms_replication_task_id     = "edp-example-cdc"
    glue_job_bronze_to_silver   = "edp-example-bronze-to-silver"
    glue_crawler_silver         = "edp-example-silver"
    ecs_cluster_arn             = "arn:aws:ecs:eu-central-1:123456789012:cluster/edp-example"
    dbt_task_definition_arn     = "arn:aws:ecs:eu-central-1:123456789012:task-definition/edp-example-dbt:1"
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
