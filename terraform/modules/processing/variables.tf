variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `edp-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "bucket_names" {
  description = "Lake bucket names by role (bronze, silver, artifacts, athena_results; gold for a gold crawler), from data_lake."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["bronze", "silver", "artifacts", "athena_results"] : contains(keys(var.bucket_names), k)])
    error_message = "bucket_names must name bronze, silver, artifacts and athena_results."
  }
}

variable "glue_database_names" {
  description = "Glue catalog database per layer (bronze, silver, gold), from iam_metadata; each crawler's layer must be named."
  type        = map(string)
  default     = {}
}

variable "glue_role_arn" {
  description = "Role the Glue jobs and crawlers run as (iam_metadata's glue role)."
  type        = string
}

variable "kms_key_arn" {
  description = "Platform KMS key: Glue security configuration and Athena results."
  type        = string
}

variable "source_schema" {
  description = "Source schema whose tables DMS writes under Bronze (`<bronze>/<schema>/<table>/`)."
  type        = string
  default     = "public"
}

variable "scripts_dir" {
  description = "Folder holding the Glue scripts the jobs run (the repo's glue_scripts/)."
  type        = string
}

variable "glue_worker_type" {
  description = "Glue worker type."
  type        = string
  default     = "G.1X"

  validation {
    condition     = contains(["G.025X", "G.1X", "G.2X", "G.4X", "G.8X"], var.glue_worker_type)
    error_message = "glue_worker_type must be one of G.025X, G.1X, G.2X, G.4X, G.8X."
  }
}

variable "glue_jobs" {
  description = "One Glue job per glue_job task, by task id (the resources file's `glue_jobs`): the name suffix after `<name_prefix>-`, the script in scripts_dir it runs, its workers per run, and whether it runs once per table."
  type = map(object({
    name_suffix = string
    script      = string
    workers     = optional(number, 2)
    mapped      = optional(bool, false)
  }))
  default = {}

  validation {
    condition     = alltrue([for j in values(var.glue_jobs) : can(regex("^[a-z0-9][a-z0-9-]*$", j.name_suffix))])
    error_message = "glue_jobs: every name_suffix must be lowercase letters, digits and hyphens."
  }
  validation {
    condition     = alltrue([for j in values(var.glue_jobs) : can(regex("^[a-z][a-z0-9_]*\\.py$", j.script))])
    error_message = "glue_jobs: every script must be a file name such as bronze_to_silver.py."
  }
  validation {
    condition     = alltrue([for j in values(var.glue_jobs) : j.workers >= 2 && j.workers <= 100 && floor(j.workers) == j.workers])
    error_message = "glue_jobs: workers must be a whole number from 2 to 100."
  }
}

variable "crawlers" {
  description = "One Glue crawler per glue_crawler task, by task id (the resources file's `crawlers`): the name suffix after `<name_prefix>-` and the lake layer it catalogues (bronze, silver, gold)."
  type = map(object({
    name_suffix = string
    layer       = string
  }))
  default = {}

  validation {
    condition     = alltrue([for c in values(var.crawlers) : can(regex("^[a-z0-9][a-z0-9-]*$", c.name_suffix))])
    error_message = "crawlers: every name_suffix must be lowercase letters, digits and hyphens."
  }
  validation {
    condition     = alltrue([for c in values(var.crawlers) : contains(["bronze", "silver", "gold"], c.layer)])
    error_message = "crawlers: layer must be bronze, silver or gold."
  }
}

variable "glue_connection" {
  description = "Network placement of the Glue jobs (private subnet and security group); null runs without a VPC connection."
  type = object({
    subnet_id          = string
    availability_zone  = string
    security_group_ids = list(string)
  })
  default = null
}

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query bytes-scanned limit of the Athena workgroup (cost guard)."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760
    error_message = "athena_bytes_scanned_cutoff must be at least 10 MB (10485760), Athena's minimum."
  }
}

variable "tags" {
  description = "Tags merged onto every resource."
  type        = map(string)
  default     = {}
}
