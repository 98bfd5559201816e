variable "name_prefix" {
  description = "Prefix of every resource name, e.g. `edp-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "repository" {
  description = "The GitHub repository (owner/name) whose workflows may assume the roles."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "repository must be owner/name."
  }
}

variable "plan_subjects" {
  description = "OIDC `sub` claims (after `repo:<owner>/<name>:`) that may assume the read-only plan role, e.g. `pull_request`."
  type        = list(string)
  default     = []
}

variable "deploy_subjects" {
  description = "OIDC `sub` claims (after `repo:<owner>/<name>:`) that may assume the deploy role, e.g. `ref:refs/heads/main` or `environment:prod`."
  type        = list(string)

  validation {
    condition     = length(var.deploy_subjects) > 0 && !contains(var.deploy_subjects, "pull_request") && alltrue([for s in var.deploy_subjects : s != "*"])
    error_message = "deploy_subjects must name at least one ref or environment, and never pull_request or *: a pull request only plans."
  }
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider; false where another environment in the account created it."
  type        = bool
  default     = true
}

variable "state_bucket" {
  description = "Bucket of the environment's Terraform states: the plan role reads it and takes its lock files, the deploy role writes it."
  type        = string
}

variable "state_key_prefix" {
  description = "Key prefix of this environment's states in state_bucket, e.g. `dev/`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]+/$", var.state_key_prefix))
    error_message = "state_key_prefix must be a folder name ending in /, e.g. dev/."
  }
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = {}
}
