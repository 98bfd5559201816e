# The dev session layer: turned on and off by the edp_session DAG, in a state of its own.
terraform {
  required_version = ">= 1.11" # ephemeral and write-only values (the DMS source secret)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }

  # bucket: `-backend-config=bucket=<state bucket>` (edp.environments passes EDP_TF_STATE_BUCKET)
  backend "s3" {
    key          = "dev/session.tfstate"
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
  description = "Bucket holding this environment's Terraform states (the foundation's is read from it)."
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
  backend = "s3"
  config = {
    bucket = var.state_bucket
    key    = "dev/foundation.tfstate"
    region = "eu-central-1"
  }
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
