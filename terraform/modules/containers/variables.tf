variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `edp-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "Platform KMS key: encrypts the image repository and the task log group."
  type        = string
}

variable "task_role_arn" {
  description = "Role the dbt container runs as (iam_metadata's ecs_task role: Athena, Glue catalog, lake buckets)."
  type        = string
}

variable "image_tag" {
  description = "Tag of the dbt image (built from dbt/) that the task definition runs."
  type        = string
  default     = "latest"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag (letters, digits, _ . -, at most 128 characters)."
  }
}

variable "cpu" {
  description = "Fargate CPU units of the dbt task."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.cpu)
    error_message = "cpu must be one of 256, 512, 1024, 2048, 4096 (Fargate sizes)."
  }
}

variable "memory" {
  description = "Fargate memory (MiB) of the dbt task; must suit `cpu`."
  type        = number
  default     = 2048

  validation {
    condition     = var.memory >= 512 && var.memory <= 30720
    error_message = "memory must be between 512 and 30720 MiB."
  }
}

variable "log_retention_days" {
  description = "Retention of the task log group."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (e.g. 30, 90, 365)."
  }
}

variable "environment_variables" {
  description = "Extra environment of the dbt container: where its profile's Athena settings and its artifact uploads point (names only, never secrets)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "environment_variables keys must be upper-case environment variable names (A-Z, 0-9, _)."
  }
  validation {
    condition     = alltrue([for k in keys(var.environment_variables) : !can(regex("(PASSWORD|SECRET|TOKEN)", k))])
    error_message = "environment_variables must not carry secrets; give the task role access to Secrets Manager instead."
  }
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = {}
}
