variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `edp-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "definition_variables" {
  description = "Values for the placeholders of definition.asl.json (names and meanings: edp.asl.PLACEHOLDERS); name_prefix must equal the module's."
  type        = map(string)

  validation {
    condition = alltrue([for k in [
      "name_prefix", "session_parameter", "default_glue_workers", "dms_replication_instance_id", "dms_replication_task_id",
      "ecs_cluster_arn", "dbt_task_definition_arn", "dbt_container_name", "private_subnet_a", "private_subnet_b",
      "ecs_security_group_id", "glue_database_gold", "glue_database_silver", "athena_workgroup",
    ] : contains(keys(var.definition_variables), k)])
    error_message = "definition_variables must give every placeholder of definition.asl.json (see edp.asl.PLACEHOLDERS)."
  }
}

variable "glue_jobs" {
  description = "The task list's Glue jobs by task id (the resources file's `glue_jobs`): the role may run `<name_prefix>-<name_suffix>` of each, and no other job."
  type = map(object({
    name_suffix = string
  }))
  default = {}
}

variable "crawlers" {
  description = "The task list's crawlers by task id (the resources file's `crawlers`): the role may start `<name_prefix>-<name_suffix>` of each, and no other crawler."
  type = map(object({
    name_suffix = string
  }))
  default = {}
}

variable "dms" {
  description = "The task list's cdc_ingest tasks (the resources file's `dms`): when any, the role may start this platform's DMS tasks (tagged `edp:platform = name_prefix`)."
  type        = map(object({}))
  default     = {}
}

variable "kinds" {
  description = "The task kinds of the task list (the resources file's `kinds`): quality_gate grants Athena, serving_load the Redshift Data API, dbt or artifacts ECS RunTask on the dbt task definition."
  type        = list(string)
  default     = []
}

variable "athena_access" {
  description = "What a quality gate's Athena queries touch besides the definition's workgroup and catalog databases: the workgroup's results bucket, the lake buckets the checks read, and the keys they are encrypted with. Required when kinds has quality_gate."
  type = object({
    results_bucket_arn = string
    data_bucket_arns   = optional(list(string), [])
    kms_key_arns       = optional(list(string), [])
  })
  default = null
}

variable "ecs_task_role_arns" {
  description = "Task and execution role ARNs of the dbt task definition (Step Functions must pass them to ECS)."
  type        = list(string)
  default     = []
}

variable "schedule_expression" {
  description = "EventBridge schedule of the pipeline (the resources file's `schedule`); null creates no rule."
  type        = string
  default     = null

  validation {
    condition     = var.schedule_expression == null ? true : can(regex("^(cron|rate)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...) or rate(...), or null."
  }
}

variable "schedule_enabled" {
  description = "Whether the schedule starts executions (the environment's switch; the rule exists, disabled, when false)."
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
