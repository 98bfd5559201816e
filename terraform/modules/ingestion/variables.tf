variable "name_prefix" {
  description = "Prefix of every resource name; in session mode it carries the session id, e.g. `edp-dev-s1123`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix)) && !strcontains(var.name_prefix, "--")
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and single hyphens, starting with a letter (RDS and DMS identifier rules)."
  }
}

variable "session_id" {
  description = "Identifier of the session, e.g. its start time `20261123090000`; names the final snapshot, so every teardown leaves its own."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$", var.session_id)) && !strcontains(var.session_id, "--")
    error_message = "session_id must be 1-40 lowercase letters, digits and single hyphens, not starting or ending with a hyphen."
  }
}

variable "subnet_ids" {
  description = "Private subnet IDs in at least two AZs (network's private_subnet_ids) for the DB and DMS subnet groups."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must name at least two private subnets (RDS and DMS subnet groups span two AZs)."
  }
}

variable "security_group_ids" {
  description = "Security group ID per tier, at least rds and dms (network's security_group_ids)."
  type        = map(string)

  validation {
    condition     = alltrue([for k in ["rds", "dms"] : contains(keys(var.security_group_ids), k)])
    error_message = "security_group_ids must name rds and dms."
  }
}

variable "kms_key_arn" {
  description = "Platform KMS key: DB storage, the managed master secret, Performance Insights, DMS storage and endpoints, Bronze objects."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "bronze_bucket_name" {
  description = "Bronze bucket DMS writes to, at `<bucket>/<schema>/<table>/` (data_lake's bronze bucket)."
  type        = string
}

variable "dms_s3_role_arn" {
  description = "Role DMS assumes to write the Bronze bucket (iam_metadata's dms role)."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL major version of the source database."
  type        = string
  default     = "16"

  validation {
    condition     = contains(["15", "16"], var.engine_version)
    error_message = "engine_version must be 15 or 16."
  }
}

variable "db_instance_class" {
  description = "RDS instance class of the source database (a scale knob)."
  type        = string
  default     = "db.t4g.medium"

  validation {
    condition     = can(regex("^db\\.[a-z0-9-]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must be an RDS instance class such as db.t4g.medium or db.m7g.large."
  }
}

variable "allocated_storage" {
  description = "Storage of the source database in GiB (a scale knob); the WAL a replication slot may hold is capped at a quarter of it."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536
    error_message = "allocated_storage must be from 20 to 65536 GiB."
  }
}

variable "db_name" {
  description = "Name of the source database DMS reads."
  type        = string
  default     = "source"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must be 1-63 lowercase letters, digits and underscores, starting with a letter."
  }
}

variable "master_username" {
  description = "Master user of the source database; its password is generated and kept by RDS in Secrets Manager."
  type        = string
  default     = "edp_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.master_username)) && !contains(["postgres", "rdsadmin", "admin"], var.master_username)
    error_message = "master_username must be 1-63 lowercase letters, digits and underscores, starting with a letter, and not a reserved name (postgres, rdsadmin, admin)."
  }
}

variable "backup_retention_days" {
  description = "Days RDS keeps automated backups."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be from 1 to 35 (backups stay on)."
  }
}

variable "performance_insights_enabled" {
  description = "Performance Insights on the source database (7-day retention, the free tier)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Deletion protection of the source database; false for sessions, which are torn down (a final snapshot is always taken)."
  type        = bool
  default     = false
}

variable "schema" {
  description = "Source schema DMS replicates; Bronze folders are `<bucket>/<schema>/<table>/`."
  type        = string
  default     = "public"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,62}$", var.schema))
    error_message = "schema must be a plain PostgreSQL identifier (letters, digits, _ and $, not starting with a digit)."
  }
}

variable "tables" {
  description = "Tables of `schema` to replicate; empty replicates the whole schema (DMS's own awsdms_* tables excluded)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.tables : can(regex("^[A-Za-z_][A-Za-z0-9_$]{0,62}$", t))]) && length(distinct(var.tables)) == length(var.tables)
    error_message = "tables must be distinct plain PostgreSQL identifiers (no wildcards)."
  }
}

variable "dms_instance_class" {
  description = "DMS replication instance class (a scale knob)."
  type        = string
  default     = "dms.t3.medium"

  validation {
    condition     = can(regex("^dms\\.(t3\\.(micro|small|medium|large)|(c5|c6i|r5|r6i)\\.(large|[0-9]*xlarge))$", var.dms_instance_class))
    error_message = "dms_instance_class must be a DMS replication instance class: dms.t3.{micro,small,medium,large} or dms.{c5,c6i,r5,r6i}.{large,xlarge,2xlarge,4xlarge,...}."
  }
}

variable "dms_allocated_storage" {
  description = "Storage of the DMS replication instance in GiB (holds cached changes during the full load and task logs)."
  type        = number
  default     = 50

  validation {
    condition     = var.dms_allocated_storage >= 5 && var.dms_allocated_storage <= 6144
    error_message = "dms_allocated_storage must be from 5 to 6144 GiB."
  }
}

variable "dms_engine_version" {
  description = "DMS engine version of the replication instance; null takes the service default."
  type        = string
  default     = null
}

variable "source_secret_arn" {
  description = "DMS-shaped secret (username, password, host, port, dbname) DMS reads the source credentials from, encrypted with kms_key_arn; null: the module copies the RDS-managed master secret into a DMS-shaped secret of its own (see README)."
  type        = string
  default     = null
}

variable "source_secret_copy_version" {
  description = "Version of the module's copy of the master credentials (used when source_secret_arn is null); raise it to copy the RDS-managed secret again, e.g. after RDS rotated it."
  type        = number
  default     = 1

  validation {
    condition     = var.source_secret_copy_version >= 1 && floor(var.source_secret_copy_version) == var.source_secret_copy_version
    error_message = "source_secret_copy_version must be a whole number of at least 1."
  }
}

variable "tags" {
  description = "Tags merged onto every resource."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary for the roles this module creates (iam_metadata's session_boundary_arn: the session runner may create roles only under it); null sets none."
  type        = string
  default     = null
}
