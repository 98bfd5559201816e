variable "name_prefix" {
  description = "Prefix of every resource name, one per environment, e.g. `edp-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name (local, dev, staging, prod): the state key prefix of its roots."
  type        = string

  validation {
    condition     = contains(["local", "dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of local, dev, staging, prod."
  }
}

variable "state_bucket" {
  description = "S3 bucket of this environment's Terraform states; with it, the session-runner role is created. null (local) creates none."
  type        = string
  default     = null
}

variable "azs" {
  description = "Two availability zones for the network."
  type        = list(string)
}

variable "cidr_block" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.10.0.0/16"
}

variable "enable_nat" {
  description = "Create the NAT gateway (private subnets reach AWS APIs without it only through endpoints)."
  type        = bool
  default     = true
}

variable "protect_data" {
  description = "prevent_destroy on the data buckets; only the throwaway local environment turns it off."
  type        = bool
  default     = true
}

variable "scripts_dir" {
  description = "The repo's glue_scripts/ folder, uploaded for the Glue job."
  type        = string
}

variable "glue_workers" {
  description = "Default Glue workers per job run (the session's scale knob overrides it per run)."
  type        = number
  default     = 2
}

variable "athena_bytes_scanned_cutoff" {
  description = "Per-query bytes-scanned limit of the Athena workgroup."
  type        = number
  default     = 10737418240
}

variable "dbt_image_tag" {
  description = "Tag of the dbt image the task definition runs."
  type        = string
  default     = "latest"
}

variable "schedule_enabled" {
  description = "Whether the nightly Step Functions schedule (the lean path) is on."
  type        = bool
  default     = false
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the platform's log groups."
  type        = number
  default     = 365
}

variable "enable_mwaa" {
  description = "Orchestration mode: create the MWAA environment (its bucket and role exist either way)."
  type        = bool
  default     = false
}

variable "mwaa" {
  description = "MWAA settings: Airflow version, class, workers and the packaged files from `edp mwaa package`."
  type = object({
    airflow_version     = optional(string, "3.3.1")
    environment_class   = optional(string, "mw1.small")
    min_workers         = optional(number, 1)
    max_workers         = optional(number, 4)
    requirements_path   = optional(string)
    startup_script_path = optional(string)
    plugins_zip_path    = optional(string)
  })
  default = {}
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = {}
}
