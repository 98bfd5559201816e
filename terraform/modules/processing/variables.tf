variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `edp-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "bucket_names" {
  description = "Lake bucket names by role (bronze, silver, artifacts, athena_results), from data_lake."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["bronze", "silver", "artifacts", "athena_results"] : contains(keys(var.bucket_names), k)])
    error_message = "bucket_names must name bronze, silver, artifacts and athena_results."
  }
}

variable "glue_database_names" {
  description = "Glue catalog database per layer (bronze, silver), from iam_metadata."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["bronze", "silver"] : contains(keys(var.glue_database_names), k)])
    error_message = "glue_database_names must name bronze and silver."
  }
}

variable "glue_role_arn" {
  description = "Role the Glue job and crawlers run as (iam_metadata's glue role)."
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
  description = "Folder holding the Glue scripts (the repo's glue_scripts/)."
  type        = string
}

variable "glue_version" {
  description = "AWS Glue version of the job."
  type        = string
  default     = "5.0"

  validation {
    condition     = contains(["4.0", "5.0"], var.glue_version)
    error_message = "glue_version must be 4.0 or 5.0."
  }
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

variable "glue_workers" {
  description = "Number of Glue workers per job run (a scale knob)."
  type        = number
  default     = 2

  validation {
    condition     = var.glue_workers >= 2 && var.glue_workers <= 100
    error_message = "glue_workers must be from 2 to 100."
  }
}

variable "glue_connection" {
  description = "Network placement of the Glue job (private subnet and security group); null runs without a VPC connection."
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
