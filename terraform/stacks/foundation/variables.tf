# The foundation root's inputs. An environment is one values file (terraform/environments/<env>.tfvars) that
# both roots read, and a backend config per layer (<env>.<layer>.backend.hcl); nothing else differs.

variable "environment" {
  description = "Environment name (emulator, dev, staging, prod): the name prefix `edp-<env>` and the state key prefix of its roots."
  type        = string

  validation {
    condition     = contains(["emulator", "dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of emulator, dev, staging, prod."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "state_bucket" {
  description = "S3 bucket of this environment's Terraform states; with it, the session-runner role is created. null (the emulator) creates none."
  type        = string
  default     = null
}

variable "scripts_dir" {
  description = "The repo's glue_scripts/ folder, uploaded for the Glue job (null: the one beside terraform/)."
  type        = string
  default     = null
}

variable "mwaa_files" {
  description = "Files from `edp mwaa package` (requirements.txt, startup.sh, plugins.zip); CI passes them."
  type = object({
    requirements_path   = optional(string)
    startup_script_path = optional(string)
    plugins_zip_path    = optional(string)
  })
  default = {}
}

variable "foundation" {
  description = "This environment's foundation values (network, scale, schedule, MWAA, CI access), from its values file."
  type = object({
    azs                         = list(string)
    cidr_block                  = optional(string, "10.10.0.0/16")
    enable_nat                  = optional(bool, true)
    protect_data                = optional(bool, true) # prevent_destroy on the data buckets; only the emulator turns it off
    glue_workers                = optional(number, 2)  # default Glue workers per run; a session's scale knob overrides it
    athena_bytes_scanned_cutoff = optional(number, 10737418240)
    dbt_image_tag               = optional(string, "latest")
    schedule_enabled            = optional(bool, false) # the nightly Step Functions schedule (the lean path)
    alarm_emails                = optional(list(string), [])
    log_retention_days          = optional(number, 365)
    enable_mwaa                 = optional(bool, false)
    mwaa = optional(object({
      airflow_version   = optional(string, "3.3.1")
      environment_class = optional(string, "mw1.small")
      min_workers       = optional(number, 1)
      max_workers       = optional(number, 4)
    }), {})
    # CI's deploy role, assumed through GitHub's OIDC provider (null: no CI access, e.g. the emulator)
    github = optional(object({
      repository      = string                     # owner/name
      plan_subjects   = optional(list(string), []) # OIDC `sub` claims that may plan, e.g. pull_request
      deploy_subjects = list(string)               # ... that may apply, e.g. ref:refs/heads/main, environment:prod
      create_provider = optional(bool, true)       # false where the account's GitHub OIDC provider already exists
    }))
    tags = optional(map(string), {})
  })

  validation {
    condition     = length(var.foundation.azs) == 2
    error_message = "foundation.azs must name exactly two availability zones."
  }
  validation {
    condition     = can(cidrhost(var.foundation.cidr_block, 0))
    error_message = "foundation.cidr_block must be a CIDR block such as 10.20.0.0/16."
  }
  validation {
    condition     = var.foundation.glue_workers >= 2 && var.foundation.glue_workers <= 100 && floor(var.foundation.glue_workers) == var.foundation.glue_workers
    error_message = "foundation.glue_workers must be a whole number from 2 to 100."
  }
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.foundation.log_retention_days)
    error_message = "foundation.log_retention_days must be a CloudWatch Logs retention period (e.g. 30, 90, 365)."
  }
  validation {
    condition     = contains(["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"], var.foundation.mwaa.environment_class)
    error_message = "foundation.mwaa.environment_class must be an MWAA environment class (mw1.small, mw1.medium, ...)."
  }
  validation {
    condition     = var.foundation.github == null ? true : can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.foundation.github.repository))
    error_message = "foundation.github.repository must be owner/name."
  }
}

variable "session" {
  description = "The session root's values. The same values file serves both roots, so this root declares them; it does not use them."
  type        = any
  default     = null
}
