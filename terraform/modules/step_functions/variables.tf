variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `edp-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "definition_variables" {
  description = "Values for the placeholders of definition.asl.json (names and meanings: edp.asl.PLACEHOLDERS)."
  type        = map(string)

  validation {
    condition = alltrue([for k in [
      "session_parameter", "dms_replication_instance_id", "dms_replication_task_id", "glue_job_bronze_to_silver", "glue_crawler_silver", "ecs_cluster_arn",
      "dbt_task_definition_arn", "dbt_container_name", "private_subnet_a", "private_subnet_b", "ecs_security_group_id",
    ] : contains(keys(var.definition_variables), k)])
    error_message = "definition_variables must give every placeholder of definition.asl.json (see edp.asl.PLACEHOLDERS)."
  }
}

variable "ecs_task_role_arns" {
  description = "Task and execution role ARNs of the dbt task definition (Step Functions must pass them to ECS)."
  type        = list(string)
  default     = []
}

variable "schedule_expression" {
  description = "EventBridge schedule of the nightly run."
  type        = string
  default     = "cron(0 2 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...) or rate(...)."
  }
}

variable "schedule_enabled" {
  description = "Whether the nightly schedule starts executions."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days execution logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the execution log group (null: CloudWatch's default encryption)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags merged onto every resource."
  type        = map(string)
  default     = {}
}
