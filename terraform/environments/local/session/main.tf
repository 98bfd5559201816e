# The local environment's session layer: its own state, reading the foundation's local state.
terraform {
  required_version = ">= 1.11" # ephemeral and write-only values (the DMS source secret)

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

variable "foundation_state_path" {
  description = "The foundation root's local state file (edp.environments passes it)."
  type        = string
}

variable "session" {
  description = "What the session DAG asks for (edp.session): modes, start time, TTL and scale knobs; omitted knobs take this environment's values."
  type = object({
    modes                  = list(string)
    started_at             = optional(string)
    ttl_hours              = optional(number, 8)
    dms_instance_class     = optional(string, "dms.t3.medium")
    glue_workers           = optional(number)
    redshift_base_capacity = optional(number, 8)
  })
  default = { modes = [] }

  validation {
    condition     = alltrue([for m in var.session.modes : contains(["ingestion", "serving"], m)])
    error_message = "session.modes may only name ingestion and serving."
  }
}

data "terraform_remote_state" "foundation" {
  backend = "local"
  config  = { path = var.foundation_state_path }
}

module "session" {
  source = "../../../stacks/session"

  foundation             = data.terraform_remote_state.foundation.outputs.session_inputs
  enable_ingestion       = contains(var.session.modes, "ingestion")
  enable_serving         = contains(var.session.modes, "serving")
  started_at             = var.session.started_at
  ttl_hours              = var.session.ttl_hours
  db_instance_class      = "db.t4g.medium"
  dms_instance_class     = var.session.dms_instance_class
  glue_workers           = var.session.glue_workers
  redshift_base_capacity = var.session.redshift_base_capacity
}

output "session" {
  description = "What is on; null when nothing is."
  value       = module.session.session
}

output "session_parameter" {
  description = "SSM parameter the pipeline reads the session from."
  value       = module.session.session_parameter
}
