# The session layer: the costly modes a DAG turns on for a while. It has a state of its own and
# only reads the foundation, so nothing here can change a bucket, a catalog or a key.
locals {
  f     = var.foundation
  modes = compact([var.enable_ingestion ? "ingestion" : "", var.enable_serving ? "serving" : ""])
  tags  = merge({ "edp:layer" = "session", "edp:platform" = local.f.name_prefix }, var.tags)
  # a final snapshot name of its own per session, so the next teardown does not collide with this one
  session_id = var.started_at == null ? "none" : formatdate("YYYYMMDDhhmmss", var.started_at)
}

module "ingestion" {
  source = "../../modules/ingestion"
  count  = var.enable_ingestion ? 1 : 0

  name_prefix              = local.f.name_prefix
  session_id               = local.session_id
  subnet_ids               = local.f.private_subnet_ids
  security_group_ids       = local.f.security_group_ids
  kms_key_arn              = local.f.kms_key_arn
  bronze_bucket_name       = local.f.bucket_names["bronze"]
  dms_s3_role_arn          = local.f.dms_role_arn
  tables                   = var.tables
  db_instance_class        = var.db_instance_class
  dms_instance_class       = var.dms_instance_class
  permissions_boundary_arn = local.f.permissions_boundary_arn
  tags                     = local.tags
}

module "serving" {
  source = "../../modules/serving"
  count  = var.enable_serving ? 1 : 0

  name_prefix              = local.f.name_prefix
  kms_key_arn              = local.f.kms_key_arn
  gold_bucket_arn          = local.f.bucket_arns["gold"]
  glue_database_name       = local.f.glue_database_names["gold"]
  base_capacity            = var.redshift_base_capacity
  subnet_ids               = local.f.private_subnet_ids
  security_group_ids       = [local.f.security_group_ids["rds"]]
  permissions_boundary_arn = local.f.permissions_boundary_arn
  tags                     = local.tags
}

locals {
  ingestion = var.enable_ingestion ? {
    db_address               = module.ingestion[0].db_address
    db_port                  = module.ingestion[0].db_port
    db_name                  = module.ingestion[0].db_name
    master_secret_arn        = module.ingestion[0].master_secret_arn
    replication_instance_arn = module.ingestion[0].replication_instance_arn
    replication_task_arn     = module.ingestion[0].replication_task_arn
    replication_task_id      = module.ingestion[0].replication_task_id
  } : null
  serving = var.enable_serving ? {
    workgroup_name   = module.serving[0].workgroup_name
    endpoint_address = module.serving[0].endpoint_address
    endpoint_port    = module.serving[0].endpoint_port
    database_name    = module.serving[0].database_name
    admin_secret_arn = module.serving[0].admin_secret_arn
  } : null
  session = length(local.modes) == 0 ? null : {
    modes      = local.modes
    started_at = var.started_at
    ttl_hours  = var.ttl_hours
    expires_at = timeadd(var.started_at, "${var.ttl_hours * 60}m")
    scale = {
      dms_instance_class     = var.dms_instance_class
      glue_workers           = coalesce(var.glue_workers, local.f.default_glue_workers)
      redshift_base_capacity = var.redshift_base_capacity
    }
    # flat, so the pipeline and Step Functions read one level: $.session.outputs.dms_replication_task_arn
    dms_replication_task_arn = try(local.ingestion.replication_task_arn, null)
    ingestion                = local.ingestion
    serving                  = local.serving
  }
}

# Published for the pipeline (Airflow's aws target and Step Functions read it); only ARNs and names,
# never a secret value. It exists exactly while a mode is on.
resource "aws_ssm_parameter" "session" {
  #checkov:skip=CKV2_AWS_34:holds only names, ARNs and knobs (never a secret); Step Functions reads it with a plain GetParameter
  count       = local.session == null ? 0 : 1
  name        = local.f.session_parameter
  description = "Outputs of the running EDP session (modes, TTL, scale, resource names)."
  type        = "String"
  value       = jsonencode(local.session)
  tags        = local.tags
}
