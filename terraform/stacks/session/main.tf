# The session layer: the costly modes a DAG turns on for a while. It has a state of its own and
# only reads the foundation, so nothing here can change a bucket, a catalog or a key.
# The foundation's state: S3 on AWS, a local file with the emulator.
data "terraform_remote_state" "foundation" {
  backend = var.foundation_state_path == null ? "s3" : "local"
  config = var.foundation_state_path == null ? tomap({
    bucket = var.state_bucket
    key    = "${var.environment}/foundation.tfstate"
    region = var.region
  }) : tomap({ path = var.foundation_state_path })
}

locals {
  f                = data.terraform_remote_state.foundation.outputs.session_inputs
  enable_ingestion = contains(var.request.modes, "ingestion")
  enable_serving   = contains(var.request.modes, "serving")
  modes            = compact([local.enable_ingestion ? "ingestion" : "", local.enable_serving ? "serving" : ""])
  tags             = { "edp:layer" = "session", "edp:platform" = local.f.name_prefix }
  started_at       = var.request.started_at
  # the request's knobs over the environment's values
  ttl_hours              = coalesce(var.request.ttl_hours, var.session.ttl_hours)
  dms_instance_class     = coalesce(var.request.dms_instance_class, var.session.dms_instance_class)
  redshift_base_capacity = coalesce(var.request.redshift_base_capacity, var.session.redshift_base_capacity)
  # a final snapshot name of its own per session, so the next teardown does not collide with this one
  session_id = local.started_at == null ? "none" : formatdate("YYYYMMDDhhmmss", local.started_at)
}

module "ingestion" {
  source = "../../modules/ingestion"
  count  = local.enable_ingestion ? 1 : 0

  name_prefix              = local.f.name_prefix
  session_id               = local.session_id
  subnet_ids               = local.f.private_subnet_ids
  security_group_ids       = local.f.security_group_ids
  kms_key_arn              = local.f.kms_key_arn
  bronze_bucket_name       = local.f.bucket_names["bronze"]
  dms_s3_role_arn          = local.f.dms_role_arn
  tables                   = var.session.tables
  db_instance_class        = var.session.db_instance_class
  dms_instance_class       = local.dms_instance_class
  permissions_boundary_arn = local.f.permissions_boundary_arn
  tags                     = local.tags
}

# the workgroup only: the namespace (the data) is the foundation's and outlives every session, so turning
# serving off deletes compute and nothing the data-loss guard has to refuse
module "serving" {
  source = "../../modules/serving"
  count  = local.enable_serving ? 1 : 0

  name_prefix        = local.f.name_prefix
  create_namespace   = false
  namespace_name     = local.f.serving.namespace_name
  base_capacity      = local.redshift_base_capacity
  subnet_ids         = local.f.private_subnet_ids
  security_group_ids = [local.f.security_group_ids["rds"]]
  tags               = local.tags
}

locals {
  ingestion = local.enable_ingestion ? {
    db_address               = module.ingestion[0].db_address
    db_port                  = module.ingestion[0].db_port
    db_name                  = module.ingestion[0].db_name
    master_secret_arn        = module.ingestion[0].master_secret_arn
    replication_instance_arn = module.ingestion[0].replication_instance_arn
    replication_task_arn     = module.ingestion[0].replication_task_arn
    replication_task_id      = module.ingestion[0].replication_task_id
  } : null
  serving = local.enable_serving ? {
    workgroup_name   = module.serving[0].workgroup_name
    endpoint_address = module.serving[0].endpoint_address
    endpoint_port    = module.serving[0].endpoint_port
    database_name    = local.f.serving.database_name # the namespace's, from the foundation
    admin_secret_arn = local.f.serving.admin_secret_arn
  } : null
  session = length(local.modes) == 0 ? null : {
    modes      = local.modes
    started_at = local.started_at
    ttl_hours  = local.ttl_hours
    expires_at = timeadd(local.started_at, "${local.ttl_hours * 60}m")
    scale = {
      dms_instance_class     = local.dms_instance_class
      glue_workers           = coalesce(var.request.glue_workers, local.f.default_glue_workers)
      redshift_base_capacity = local.redshift_base_capacity
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
