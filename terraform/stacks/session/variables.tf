variable "foundation" {
  description = "The foundation stack's `session_inputs` output (read through remote state by the environment root)."
  type = object({
    name_prefix          = string
    session_parameter    = string
    kms_key_arn          = string
    vpc_id               = string
    private_subnet_ids   = list(string)
    security_group_ids   = map(string)
    bucket_names         = map(string)
    bucket_arns          = map(string)
    glue_database_names  = map(string)
    dms_role_arn         = string
    dms_instance_id      = string
    dms_task_id          = string
    glue_job_name        = string
    default_glue_workers = number
    # roles the session creates carry it; null where no session-runner role exists (local)
    permissions_boundary_arn = optional(string)
  })
}

variable "enable_ingestion" {
  description = "Session mode `ingestion`: RDS PostgreSQL with logical replication and the DMS full-load-and-CDC task."
  type        = bool
  default     = false
}

variable "enable_serving" {
  description = "Session mode `serving`: a Redshift Serverless namespace and workgroup over Gold."
  type        = bool
  default     = false
}

variable "started_at" {
  description = "When the session started (ISO 8601, UTC); kept across scale and mode changes, it drives the TTL sweep."
  type        = string
  default     = null

  validation {
    condition     = var.started_at == null ? true : can(formatdate("YYYY", var.started_at))
    error_message = "started_at must be an RFC 3339 timestamp, e.g. 2026-11-23T09:00:00Z."
  }
}

variable "ttl_hours" {
  description = "Hours after started_at when the sweep tears the session down (cost guard)."
  type        = number
  default     = 8

  validation {
    condition     = var.ttl_hours > 0 && var.ttl_hours <= 72
    error_message = "ttl_hours must be more than 0 and at most 72."
  }
}

variable "tables" {
  description = "Source tables DMS replicates (empty: every table of the schema)."
  type        = list(string)
  default     = []
}

variable "db_instance_class" {
  description = "Scale knob: RDS instance class of the source database."
  type        = string
  default     = "db.t4g.medium"
}

variable "dms_instance_class" {
  description = "Scale knob: DMS replication instance class."
  type        = string
  default     = "dms.t3.medium"
}

variable "glue_workers" {
  description = "Scale knob: Glue workers per job run, published for the pipeline (null: the foundation default)."
  type        = number
  default     = null

  validation {
    condition     = var.glue_workers == null ? true : (var.glue_workers >= 2 && var.glue_workers <= 100 && floor(var.glue_workers) == var.glue_workers)
    error_message = "glue_workers must be a whole number from 2 to 100."
  }
}

variable "redshift_base_capacity" {
  description = "Scale knob: Redshift Serverless base capacity in RPUs."
  type        = number
  default     = 8
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = {}
}
