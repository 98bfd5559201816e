# The session root's inputs. An environment is one values file (terraform/environments/<env>.tfvars) that
# both roots read, and a backend config per layer (<env>.<layer>.backend.hcl); `request` is what the
# session DAG asks for (edp.session), the rest is the environment's.

variable "environment" {
  description = "Environment name (emulator, dev, staging, prod); the foundation's state is read from `<env>/foundation.tfstate`."
  type        = string

  validation {
    condition     = contains(["emulator", "dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of emulator, dev, staging, prod."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "state_bucket" {
  description = "Bucket holding this environment's Terraform states (the foundation's is read from it); null with foundation_state_path."
  type        = string
  default     = null
}

variable "foundation_state_path" {
  description = "A local foundation state file to read instead of the S3 one (the emulator environment; edp.environments passes it)."
  type        = string
  default     = null

  validation {
    condition     = var.foundation_state_path != null || var.state_bucket != null
    error_message = "either state_bucket or foundation_state_path must be set: the session reads the foundation's state."
  }
}

variable "session" {
  description = "This environment's session values: the scale a session starts with and its TTL, from its values file."
  type = object({
    ttl_hours              = optional(number, 8)
    db_instance_class      = optional(string, "db.t4g.medium")
    dms_instance_class     = optional(string, "dms.t3.medium")
    redshift_base_capacity = optional(number, 8)
    tables                 = optional(list(string), []) # DMS replicates these (empty: every table of the schema)
  })
  default = {}

  validation {
    condition     = can(regex("^db\\.", var.session.db_instance_class)) && can(regex("^dms\\.", var.session.dms_instance_class))
    error_message = "session.db_instance_class must be an RDS class (db.*) and session.dms_instance_class a DMS class (dms.*)."
  }
}

variable "request" {
  description = "What the session DAG asks for (edp.session): modes, start time, TTL and scale knobs; omitted knobs take the environment's session values."
  type = object({
    modes                  = list(string)
    started_at             = optional(string)
    ttl_hours              = optional(number)
    dms_instance_class     = optional(string)
    glue_workers           = optional(number)
    redshift_base_capacity = optional(number)
  })
  default = { modes = [] }

  validation {
    condition     = alltrue([for m in var.request.modes : contains(["ingestion", "serving"], m)])
    error_message = "request.modes may only name ingestion and serving."
  }
  validation {
    condition     = var.request.started_at == null ? true : can(formatdate("YYYY", var.request.started_at))
    error_message = "request.started_at must be an RFC 3339 timestamp, e.g. 2026-11-23T09:00:00Z."
  }
  validation {
    condition     = var.request.ttl_hours == null ? true : var.request.ttl_hours > 0 && var.request.ttl_hours <= 72
    error_message = "request.ttl_hours must be more than 0 and at most 72."
  }
  validation {
    condition     = var.request.glue_workers == null ? true : (var.request.glue_workers >= 2 && var.request.glue_workers <= 100 && floor(var.request.glue_workers) == var.request.glue_workers)
    error_message = "request.glue_workers must be a whole number from 2 to 100."
  }
}

variable "foundation" {
  description = "The foundation root's values. The same values file serves both roots, so this root declares them; it does not use them."
  type        = any
  default     = null
}
