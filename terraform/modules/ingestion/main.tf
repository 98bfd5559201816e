# The session's source PostgreSQL (logical replication on) and the DMS full-load-and-CDC task
# writing it to Bronze in the layout edp.dms_format reproduces locally.

############################################################################
# Source database
############################################################################

resource "aws_db_subnet_group" "source" {
  name        = "${var.name_prefix}-source"
  description = "Private subnets of the ${var.name_prefix} source database"
  subnet_ids  = var.subnet_ids
  tags        = local.tags
}

# static parameters take effect at creation; "pending-reboot" is accepted for dynamic ones too
resource "aws_db_parameter_group" "source" {
  name        = "${var.name_prefix}-source-pg${var.engine_version}"
  family      = "postgres${var.engine_version}"
  description = "Logical replication for DMS CDC"

  parameter {
    name         = "rds.logical_replication" # wal_level = logical, for the DMS replication slot
    value        = "1"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "rds.force_ssl" # the DMS source endpoint connects with ssl_mode = require
    value        = "1"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "max_replication_slots" # one per DMS task, with room for a reload
    value        = "10"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "max_wal_senders" # at least max_replication_slots
    value        = "10"
    apply_method = "pending-reboot"
  }
  parameter {
    name         = "wal_sender_timeout" # ms; DMS CDC needs 0 (off) or at least 10000
    value        = "60000"
    apply_method = "pending-reboot"
  }
  parameter {
    # a slot nobody reads stops holding WAL at a quarter of the disk; DMS then needs a reload, which
    # the pipeline handles as locally (old Bronze generation archived, fresh full load)
    name         = "max_slot_wal_keep_size" # MB
    value        = tostring(floor(var.allocated_storage * 1024 / 4))
    apply_method = "pending-reboot"
  }

  tags = local.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "source" {
  #checkov:skip=CKV_AWS_293:sessions are torn down by design; deletion_protection is a variable and a final snapshot is always taken
  #checkov:skip=CKV_AWS_157:a session's source database is single-AZ for cost; backups and the final snapshot keep its data
  #checkov:skip=CKV_AWS_118:Performance Insights is on; enhanced monitoring would add an OS-metrics role per short-lived session
  identifier     = "${var.name_prefix}-source"
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.db_instance_class
  db_name        = var.db_name
  port           = 5432

  username                      = var.master_username
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn

  allocated_storage = var.allocated_storage
  storage_type      = "gp3"
  storage_encrypted = true
  kms_key_id        = var.kms_key_arn

  db_subnet_group_name                = aws_db_subnet_group.source.name
  vpc_security_group_ids              = [var.security_group_ids["rds"]]
  publicly_accessible                 = false
  parameter_group_name                = aws_db_parameter_group.source.name
  iam_database_authentication_enabled = true
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]

  backup_retention_period = var.backup_retention_days
  copy_tags_to_snapshot   = true
  # the source is data-bearing: tearing a session down always leaves a snapshot
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name_prefix}-source-final-${var.session_id}"
  deletion_protection       = var.deletion_protection

  performance_insights_enabled          = var.performance_insights_enabled
  performance_insights_kms_key_id       = var.performance_insights_enabled ? var.kms_key_arn : null
  performance_insights_retention_period = var.performance_insights_enabled ? 7 : null

  auto_minor_version_upgrade = true
  apply_immediately          = true
  tags                       = local.tags
}

############################################################################
# DMS: instance, endpoints, task
############################################################################

resource "aws_dms_replication_subnet_group" "this" {
  replication_subnet_group_id          = "${var.name_prefix}-dms"
  replication_subnet_group_description = "Private subnets of the ${var.name_prefix} replication instance"
  subnet_ids                           = var.subnet_ids
  tags                                 = local.tags
}

resource "aws_dms_replication_instance" "this" {
  replication_instance_id     = "${var.name_prefix}-dms"
  replication_instance_class  = var.dms_instance_class
  allocated_storage           = var.dms_allocated_storage
  engine_version              = var.dms_engine_version
  replication_subnet_group_id = aws_dms_replication_subnet_group.this.id
  vpc_security_group_ids      = [var.security_group_ids["dms"]]
  publicly_accessible         = false
  kms_key_arn                 = var.kms_key_arn
  auto_minor_version_upgrade  = true
  apply_immediately           = true
  tags                        = local.tags
}

############################################################################
# The secret DMS reads: host, port, dbname, username, password
############################################################################

# DMS takes host and port from the secret (the provider sends no server name or port with
# secrets_manager_arn), and RDS's managed master secret holds only username and password. So, unless
# the caller brings a DMS-shaped secret, the module copies the managed one into a secret of its own.
# The password passes through an ephemeral read and a write-only argument: it never lands in state,
# plan or outputs. The copy does not follow RDS's rotation (README: "Credentials DMS reads").
resource "aws_secretsmanager_secret" "dms_source" {
  #checkov:skip=CKV2_AWS_57:a copy of the RDS-managed master secret, which RDS rotates; a session lives at most 72 h and a new session copies afresh (README)
  count = var.source_secret_arn == null ? 1 : 0

  name        = "${var.name_prefix}-dms-source-${var.session_id}"
  description = "DMS source credentials of the ${var.name_prefix} database (a copy of its RDS-managed master secret)"
  kms_key_id  = var.kms_key_arn
  # a session's teardown schedules the deletion, which restore-secret can cancel for 7 days (the data-loss
  # guard lets a secret go only so); the name carries the session id, so the next session's copy is new
  recovery_window_in_days = 7
  tags                    = local.tags
}

ephemeral "aws_secretsmanager_secret_version" "master" {
  count     = var.source_secret_arn == null ? 1 : 0
  secret_id = aws_db_instance.source.master_user_secret[0].secret_arn
}

resource "aws_secretsmanager_secret_version" "dms_source" {
  count     = var.source_secret_arn == null ? 1 : 0
  secret_id = aws_secretsmanager_secret.dms_source[0].id

  # write-only: sent to Secrets Manager, never stored in state; bump the version to copy again
  secret_string_wo = jsonencode({
    engine   = "postgres"
    host     = aws_db_instance.source.address
    port     = aws_db_instance.source.port
    dbname   = aws_db_instance.source.db_name
    username = aws_db_instance.source.username
    password = jsondecode(ephemeral.aws_secretsmanager_secret_version.master[0].secret_string)["password"]
  })
  secret_string_wo_version = var.source_secret_copy_version
}

# DMS reads the source credentials itself; this role may read that one secret and nothing else
data "aws_iam_policy_document" "secrets_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dms.${data.aws_region.current.name}.amazonaws.com", "dms.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "secrets_access" {
  statement {
    sid       = "ReadSourceSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.source_secret_arn]
  }
  statement {
    sid       = "DecryptSourceSecret"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "secrets_access" {
  name                 = "${var.name_prefix}-dms-source-secret"
  description          = "DMS reads the ${var.name_prefix} source credentials"
  assume_role_policy   = data.aws_iam_policy_document.secrets_trust.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = local.tags
}

resource "aws_iam_role_policy" "secrets_access" {
  name   = "read-source-secret"
  role   = aws_iam_role.secrets_access.id
  policy = data.aws_iam_policy_document.secrets_access.json
}

resource "aws_dms_endpoint" "source" {
  endpoint_id                     = "${var.name_prefix}-source"
  endpoint_type                   = "source"
  engine_name                     = "postgres"
  database_name                   = aws_db_instance.source.db_name
  secrets_manager_arn             = local.source_secret_arn
  secrets_manager_access_role_arn = aws_iam_role.secrets_access.arn
  ssl_mode                        = "require"
  kms_key_arn                     = var.kms_key_arn

  postgres_settings {
    capture_ddls           = false # no DDL triggers or artifacts in the source
    heartbeat_enable       = true  # an idle source still advances the slot, so WAL does not pile up
    heartbeat_frequency    = 5
    map_boolean_as_boolean = true # booleans stay booleans in Bronze, as locally
  }
  # unconstrained NUMERIC as exact text (DMS's default is NUMERIC(28,6), which rounds), as locally; the
  # provider's postgres_settings has no argument for it, the endpoint's extra attributes do
  extra_connection_attributes = "MapUnboundedNumericAsString=true"

  tags = local.tags

  # the role's policy and the secret's value must exist before DMS tries the secret
  depends_on = [aws_iam_role_policy.secrets_access, aws_secretsmanager_secret_version.dms_source]
}

resource "aws_dms_s3_endpoint" "bronze" {
  endpoint_id             = "${var.name_prefix}-bronze"
  endpoint_type           = "target"
  bucket_name             = var.bronze_bucket_name
  bucket_folder           = "" # files land at <bucket>/<schema>/<table>/, exactly as locally
  service_access_role_arn = var.dms_s3_role_arn
  kms_key_arn             = var.kms_key_arn

  data_format                      = "parquet"
  parquet_version                  = "parquet-2-0"
  parquet_timestamp_in_millisecond = false
  compression_type                 = "GZIP"
  timestamp_column_name            = local.timestamp_column
  # full-load rows carry no Op column, CDC rows carry Op first (edp.dms_format.bronze_schema)
  include_op_for_full_load = false
  cdc_inserts_and_updates  = false
  cdc_inserts_only         = false
  # change files in date folders (<table>/YYYY/MM/DD/), so the merge lists the latest folders, not the history
  date_partition_enabled   = true
  date_partition_sequence  = "YYYYMMDD"
  date_partition_delimiter = "SLASH"
  date_partition_timezone  = "UTC"
  cdc_max_batch_interval   = 60
  cdc_min_file_size        = 32000

  encryption_mode                   = "SSE_KMS"
  server_side_encryption_kms_key_id = var.kms_key_arn

  tags = local.tags
}

resource "aws_dms_replication_task" "cdc" {
  replication_task_id       = "${var.name_prefix}-cdc"
  migration_type            = "full-load-and-cdc"
  replication_instance_arn  = aws_dms_replication_instance.this.replication_instance_arn
  source_endpoint_arn       = aws_dms_endpoint.source.endpoint_arn
  target_endpoint_arn       = aws_dms_s3_endpoint.bronze.endpoint_arn
  table_mappings            = local.table_mappings
  replication_task_settings = local.task_settings
  start_replication_task    = false # the pipeline starts and resumes it
  tags                      = local.tags
}
