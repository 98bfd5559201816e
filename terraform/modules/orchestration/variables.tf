variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `edp-dev`; the environment is `<prefix>-airflow`, the bucket `<prefix>-mwaa-source`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "Platform KMS key: encrypts the source bucket and the environment (metadata database, logs, queues)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); MWAA does not take aliases here."
  }
}

variable "requirements_path" {
  description = "Local path of the packaged requirements.txt (uploaded as `requirements.txt`); it must pin providers with a `--constraint` line. Null uploads none."
  type        = string
  default     = null

  validation {
    condition     = var.requirements_path == null || can(file(var.requirements_path))
    error_message = "requirements_path must name a readable text file."
  }

  validation {
    condition     = var.requirements_path == null || can(regex("(?m)^[ \\t]*--constraint[ \\t=]+[^ \\t\\r\\n#]+", file(var.requirements_path)))
    error_message = "requirements_path has no `--constraint <url-or-file>` line: MWAA must install providers against the Airflow constraints file, so add e.g. `--constraint \"https://raw.githubusercontent.com/apache/airflow/constraints-<airflow>/constraints-<python>.txt\"`."
  }
}

variable "startup_script_path" {
  description = "Local path of the startup shell script (uploaded as `startup.sh`); null uploads none."
  type        = string
  default     = null

  validation {
    condition     = var.startup_script_path == null || can(filemd5(var.startup_script_path))
    error_message = "startup_script_path must name a readable file."
  }
}

variable "plugins_zip_path" {
  description = "Local path of the packaged plugins.zip (uploaded as `plugins.zip`); null uploads none."
  type        = string
  default     = null

  validation {
    condition     = var.plugins_zip_path == null || can(filemd5(var.plugins_zip_path))
    error_message = "plugins_zip_path must name a readable file."
  }
}

variable "force_destroy" {
  description = "Let destroy empty the source bucket, every object version included (for throwaway environments)."
  type        = bool
  default     = false
}

variable "noncurrent_version_days" {
  description = "Days a replaced requirements/plugins/startup/DAG version is kept (for a rollback) before it expires."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 1 && floor(var.noncurrent_version_days) == var.noncurrent_version_days
    error_message = "noncurrent_version_days must be a whole number of days, at least 1."
  }
}

variable "access_logging" {
  description = "Where the source bucket's S3 server access logs go, under `<bucket>/`: `{ target_bucket = <data_lake's access_log_bucket_name> }`; null logs nothing. (An object, so the bucket may be known only after apply.)"
  type = object({
    target_bucket = string
  })
  default = null
}

variable "extra_policies" {
  description = "The pipeline's own permissions, attached to the execution role: policy name => IAM policy document JSON."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.extra_policies) : can(regex("^[A-Za-z0-9+=,.@_-]{1,128}$", name))])
    error_message = "extra_policies keys must be IAM policy names (1-128 of A-Z a-z 0-9 + = , . @ _ -)."
  }
  validation {
    condition     = alltrue([for doc in values(var.extra_policies) : can(jsondecode(doc).Statement)])
    error_message = "extra_policies values must be IAM policy documents in JSON with a Statement."
  }
}

variable "create_environment" {
  description = "Create the MWAA environment; false creates only the source bucket, its objects and the execution role."
  type        = bool
  default     = true
}

variable "airflow_version" {
  description = "Apache Airflow version of the environment."
  type        = string
  default     = "3.3.1"

  validation {
    condition     = contains(["3.0.6", "3.2.1", "3.3.1"], var.airflow_version)
    error_message = "airflow_version must be one of the MWAA Airflow 3 versions 3.0.6, 3.2.1 or 3.3.1."
  }
}

variable "environment_class" {
  description = "MWAA environment class (scheduler, web server and worker size)."
  type        = string
  default     = "mw1.small"

  validation {
    condition     = contains(["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"], var.environment_class)
    error_message = "environment_class must be one of mw1.micro, mw1.small, mw1.medium, mw1.large, mw1.xlarge, mw1.2xlarge."
  }
}

variable "min_workers" {
  description = "Workers always running (a scale knob)."
  type        = number
  default     = 1

  validation {
    condition     = var.min_workers >= 1 && var.min_workers <= 25 && floor(var.min_workers) == var.min_workers
    error_message = "min_workers must be a whole number from 1 to 25."
  }
}

variable "max_workers" {
  description = "Workers the environment may scale out to under load (a scale knob)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_workers >= 1 && var.max_workers <= 25 && floor(var.max_workers) == var.max_workers
    error_message = "max_workers must be a whole number from 1 to 25."
  }
}

variable "webserver_access_mode" {
  description = "Reach of the Airflow UI: PRIVATE_ONLY (from the VPC) or PUBLIC_ONLY (internet, IAM-authenticated)."
  type        = string
  default     = "PRIVATE_ONLY"

  validation {
    condition     = contains(["PRIVATE_ONLY", "PUBLIC_ONLY"], var.webserver_access_mode)
    error_message = "webserver_access_mode must be PRIVATE_ONLY or PUBLIC_ONLY."
  }
}

variable "subnet_ids" {
  description = "Exactly two private subnets in different availability zones (network's `private_subnet_ids`)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) == 2 && length(distinct(var.subnet_ids)) == 2
    error_message = "subnet_ids must list exactly two different private subnets (MWAA's requirement)."
  }
}

variable "security_group_ids" {
  description = "Security groups of the environment (network's `mwaa` group), 1 to 5."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1 && length(var.security_group_ids) <= 5
    error_message = "security_group_ids must list 1 to 5 security groups."
  }
}

variable "log_level" {
  description = "Level of every Airflow log stream sent to CloudWatch (all five are enabled)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"], var.log_level)
    error_message = "log_level must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG."
  }
}

variable "airflow_configuration_options" {
  description = "Airflow configuration overrides, e.g. `{ \"core.load_examples\" = \"false\" }`."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags merged onto every resource."
  type        = map(string)
  default     = {}
}
