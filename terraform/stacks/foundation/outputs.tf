output "bucket_names" {
  description = "Lake bucket per role: bronze, silver, gold, artifacts, athena_results."
  value       = module.data_lake.bucket_names
}

output "name_prefix" {
  description = "Prefix of every resource name (`edp-<environment>`); a task's own resource is `<name_prefix>-<task id>`."
  value       = local.name_prefix
}

output "glue_jobs" {
  description = "Glue job name per glue_job task of the task list (task id -> name)."
  value       = module.processing.glue_jobs
}

output "crawlers" {
  description = "Crawler name per glue_crawler task of the task list (task id -> name)."
  value       = module.processing.crawlers
}

output "default_glue_workers" {
  description = "Glue workers per run when no session publishes its scale."
  value       = var.foundation.glue_workers
}

output "glue_database_names" {
  description = "Glue catalog database per layer (bronze, silver, gold)."
  value       = module.iam_metadata.glue_database_names
}

output "athena_workgroup" {
  description = "Athena workgroup dbt and the quality gates run in."
  value       = module.processing.athena_workgroup
}

output "state_machine_arn" {
  description = "The lean-path pipeline state machine."
  value       = module.step_functions.state_machine_arn
}

output "alarm_topic_arn" {
  description = "SNS topic of pipeline alarms and failure callbacks."
  value       = module.monitoring.alarm_topic_arn
}

output "ecs" {
  description = "Where the dbt container runs: cluster, task definition, container, subnets, security group."
  value       = local.ecs
}

output "session_parameter" {
  description = "SSM parameter the session stack publishes its outputs to."
  value       = local.session_param
}

output "session_inputs" {
  description = "Everything the session stack needs from the foundation, read through remote state."
  value = {
    name_prefix              = local.name_prefix
    session_parameter        = local.session_param
    kms_key_arn              = module.iam_metadata.kms_key_arn
    vpc_id                   = module.network.vpc_id
    private_subnet_ids       = module.network.private_subnet_ids
    security_group_ids       = module.network.security_group_ids
    bucket_names             = module.data_lake.bucket_names
    bucket_arns              = module.data_lake.bucket_arns
    glue_database_names      = module.iam_metadata.glue_database_names
    dms_role_arn             = module.iam_metadata.role_arns["dms"]
    dms_instance_id          = local.dms_ids.replication_instance_id
    dms_task_id              = local.dms_ids.replication_task_id
    glue_jobs                = module.processing.glue_jobs
    default_glue_workers     = var.foundation.glue_workers
    permissions_boundary_arn = module.iam_metadata.session_boundary_arn
    # the namespace a serving session attaches its workgroup to, and what the session publishes of it
    serving = {
      namespace_name   = module.serving_namespace.namespace_name
      database_name    = module.serving_namespace.database_name
      admin_secret_arn = module.serving_namespace.admin_secret_arn
    }
  }
}

output "mwaa" {
  description = "MWAA source bucket, execution role, and the environment's name and web server URL (null unless enable_mwaa)."
  value       = local.mwaa
}

output "session_runner_role_arn" {
  description = "Role the session DAG's Terraform assumes (null in local)."
  value       = module.iam_metadata.session_runner_role_arn
}

output "foundation_parameter" {
  description = "SSM parameter holding the outputs the pipeline's workers read (names and ARNs only)."
  value       = aws_ssm_parameter.foundation.name
}

output "dms" {
  description = "Identifiers the session stack gives its DMS instance and task (CloudWatch dimensions of the latency metric)."
  value       = local.dms_ids
}

output "ci_roles" {
  description = "Roles GitHub Actions assumes for this environment: plan (pull requests) and deploy (null without foundation.github)."
  value       = try({ plan = module.ci_access[0].plan_role_arn, deploy = module.ci_access[0].deploy_role_arn }, null)
}
