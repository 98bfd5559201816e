# Runnable example: the state machine rendered from dags/pipeline.yaml, its role (built from the rendered
# resources file, as the foundation does) and its schedule, against the local AWS emulator.
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

locals {
  # what `edp sfn render` wrote beside the definition: the tasks' Glue jobs and crawlers, kinds, schedule
  resources = jsondecode(file("${path.module}/../../resources.json"))
}

module "step_functions" {
  source = "../.."

  name_prefix = "edp-example"
  definition_variables = {
    name_prefix                 = "edp-example"
    session_parameter           = "/edp-example/session"
    default_glue_workers        = "2"
    dms_replication_instance_id = "edp-example-dms"
    dms_replication_task_id     = "edp-example-cdc"
    ecs_cluster_arn             = "arn:aws:ecs:eu-central-1:123456789012:cluster/edp-example"
    dbt_task_definition_arn     = "arn:aws:ecs:eu-central-1:123456789012:task-definition/edp-example-dbt:1"
    dbt_container_name          = "dbt"
    private_subnet_a            = "subnet-0aaaaaaaaaaaaaaaa"
    private_subnet_b            = "subnet-0bbbbbbbbbbbbbbbb"
    ecs_security_group_id       = "sg-0cccccccccccccccc"
    glue_database_gold          = "edp_example_gold"
    glue_database_silver        = "edp_example_silver"
    athena_workgroup            = "edp-example"
  }
  glue_jobs           = local.resources.glue_jobs
  crawlers            = local.resources.crawlers
  dms                 = local.resources.dms
  kinds               = local.resources.kinds
  schedule_expression = local.resources.schedule
  athena_access = {
    results_bucket_arn = "arn:aws:s3:::edp-example-athena-results"
    data_bucket_arns   = ["arn:aws:s3:::edp-example-gold", "arn:aws:s3:::edp-example-silver"]
  }
  ecs_task_role_arns = ["arn:aws:iam::123456789012:role/edp-example-dbt-task"]
}

output "state_machine_arn" {
  value = module.step_functions.state_machine_arn
}

output "state_machine_role_arn" {
  value = module.step_functions.state_machine_role_arn
}

output "schedule_rule_name" {
  value = module.step_functions.schedule_rule_name
}
