variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `edp-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "bucket_arns" {
  description = "Lake bucket ARNs by role (bronze, silver, gold, artifacts, athena_results), from data_lake."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["bronze", "silver", "gold", "artifacts", "athena_results"] : contains(keys(var.bucket_arns), k)])
    error_message = "bucket_arns must name bronze, silver, gold, artifacts and athena_results."
  }
}

variable "glue_database_prefix" {
  description = "Prefix of the Glue catalog databases; one per layer is created (<prefix>_bronze, _silver, _gold)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{1,40}$", var.glue_database_prefix))
    error_message = "glue_database_prefix must be lowercase letters, digits and underscores, starting with a letter."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the KMS key is deleted after it is scheduled for deletion."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be from 7 to 30."
  }
}

variable "session_runner" {
  description = <<-EOT
    The role the session DAG runs `terraform apply/destroy` of the session stack as; null creates none.
    state_bucket/state_key_prefix: where the session stack keeps its state and lock files (S3 backend,
    use_lockfile); read_state_keys: other state objects it reads (the foundation's); state_kms_key_arn: the
    state bucket's key, if not SSE-S3; trusted_role_arns: who may assume it (null: this module's MWAA role);
    passable_role_arns: further foundation roles the session hands to DMS or Redshift (the dms role always is).
  EOT
  type = object({
    state_bucket       = string
    state_key_prefix   = string
    read_state_keys    = optional(list(string), [])
    state_kms_key_arn  = optional(string)
    trusted_role_arns  = optional(list(string))
    passable_role_arns = optional(list(string), [])
  })
  default = null

  validation {
    condition     = var.session_runner == null || try(length(var.session_runner.state_key_prefix) > 0 && !startswith(var.session_runner.state_key_prefix, "/"), false)
    error_message = "session_runner.state_key_prefix must be a non-empty S3 key prefix without a leading slash, e.g. \"session/\"."
  }

  validation {
    # length(null) fails, so try() answers true for null (this module's MWAA role)
    condition     = var.session_runner == null || try(length(var.session_runner.trusted_role_arns) > 0, true)
    error_message = "session_runner.trusted_role_arns must name at least one role, or be null for this module's MWAA role."
  }
}

variable "tags" {
  description = "Tags merged onto every resource."
  type        = map(string)
  default     = {}
}
