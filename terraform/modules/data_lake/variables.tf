variable "name_prefix" {
  description = "Prefix of every bucket name, e.g. `edp-dev-123456789012`; globally unique in practice."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-42 characters of lowercase letters, digits and hyphens."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts every object (from iam_metadata)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "protect_data" {
  description = "Put prevent_destroy on the data-bearing buckets (bronze, silver, gold); false also lets a destroy empty every bucket (force_destroy). Only throw-away environments set false."
  type        = bool
  default     = true
}

variable "bronze_infrequent_access_days" {
  description = "Days after which Bronze objects move to STANDARD_IA."
  type        = number
  default     = 90

  validation {
    condition     = var.bronze_infrequent_access_days >= 30 && var.bronze_infrequent_access_days <= 3650
    error_message = "bronze_infrequent_access_days must be from 30 (the S3 minimum) to 3650."
  }
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object version is kept before it expires."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1 && var.noncurrent_version_days <= 3650
    error_message = "noncurrent_version_days must be from 1 to 3650."
  }
}

variable "athena_results_days" {
  description = "Days Athena query results are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.athena_results_days >= 1 && var.athena_results_days <= 365
    error_message = "athena_results_days must be from 1 to 365."
  }
}

variable "access_log_days" {
  description = "Days the S3 server access logs of the lake buckets are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_days >= 90 && var.access_log_days <= 3650
    error_message = "access_log_days must be from 90 to 3650."
  }
}

variable "extra_logged_bucket_arns" {
  description = "Other buckets of the platform (e.g. MWAA's source bucket) allowed to deliver their access logs here."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.extra_logged_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]{3,63}$", a))])
    error_message = "extra_logged_bucket_arns must be S3 bucket ARNs (arn:aws:s3:::<bucket>)."
  }
}

variable "tags" {
  description = "Tags merged onto every resource."
  type        = map(string)
  default     = {}
}
