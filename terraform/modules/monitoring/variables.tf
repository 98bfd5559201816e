variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `edp-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "state_machine_arn" {
  description = "ARN of the pipeline state machine (step_functions module)."
  type        = string
}

variable "glue_job_names" {
  description = "Names of the pipeline's Glue jobs (processing module): each one alarms and shows on the dashboard."
  type        = list(string)
}

variable "dms" {
  description = "The DMS replication instance and task ids while ingestion is on; null when it is off."
  type = object({
    replication_instance_id = string
    replication_task_id     = string
  })
  default = null
}

variable "dms_latency_threshold_seconds" {
  description = "CDC latency (source or target) above which the DMS alarm fires."
  type        = number
  default     = 600

  validation {
    condition     = var.dms_latency_threshold_seconds >= 60 && var.dms_latency_threshold_seconds <= 86400
    error_message = "dms_latency_threshold_seconds must be from 60 to 86400."
  }
}

variable "silver_stale_after_hours" {
  description = "Silver is stale when no pipeline execution has succeeded for this many hours."
  type        = number
  default     = 26

  validation {
    condition     = var.silver_stale_after_hours >= 1 && var.silver_stale_after_hours <= 168
    error_message = "silver_stale_after_hours must be from 1 to 168."
  }
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each must confirm)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be e-mail addresses."
  }
}

variable "kms_key_arn" {
  description = "Platform KMS key that encrypts the alarm topic."
  type        = string
}

variable "tags" {
  description = "Tags merged onto every resource."
  type        = map(string)
  default     = {}
}
