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

variable "tags" {
  description = "Tags merged onto every resource."
  type        = map(string)
  default     = {}
}
