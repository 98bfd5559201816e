output "db_instance_id" {
  description = "Identifier of the source RDS instance."
  value       = try(aws_db_instance.source.identifier, null)
}

output "db_endpoint" {
  description = "Connection endpoint (`address:port`) of the source database."
  value       = try(aws_db_instance.source.endpoint, null)
}

output "db_address" {
  description = "Host name of the source database."
  value       = try(aws_db_instance.source.address, null)
}

output "db_port" {
  description = "Port of the source database."
  value       = try(aws_db_instance.source.port, null)
}

output "db_name" {
  description = "Name of the source database."
  value       = try(aws_db_instance.source.db_name, null)
}

output "master_secret_arn" {
  description = "ARN of the RDS-managed secret holding the master credentials (the ARN only, never its value)."
  value       = try(aws_db_instance.source.master_user_secret[0].secret_arn, null)
}

output "final_snapshot_identifier" {
  description = "Snapshot RDS takes when the session's database is destroyed."
  value       = try(aws_db_instance.source.final_snapshot_identifier, null)
}

output "replication_instance_arn" {
  description = "ARN of the DMS replication instance."
  value       = try(aws_dms_replication_instance.this.replication_instance_arn, null)
}

output "replication_instance_id" {
  description = "Identifier of the DMS replication instance (monitoring's dms.replication_instance_id)."
  value       = try(aws_dms_replication_instance.this.replication_instance_id, null)
}

output "replication_task_arn" {
  description = "ARN of the full-load-and-CDC task (the ASL placeholder dms_replication_task_arn)."
  value       = try(aws_dms_replication_task.cdc.replication_task_arn, null)
}

output "replication_task_id" {
  description = "Identifier of the full-load-and-CDC task (monitoring's dms.replication_task_id)."
  value       = try(aws_dms_replication_task.cdc.replication_task_id, null)
}

output "source_endpoint_arn" {
  description = "ARN of the DMS PostgreSQL source endpoint."
  value       = try(aws_dms_endpoint.source.endpoint_arn, null)
}

output "target_endpoint_arn" {
  description = "ARN of the DMS S3 (Bronze) target endpoint."
  value       = try(aws_dms_s3_endpoint.bronze.endpoint_arn, null)
}

output "source_secret_arn" {
  description = "ARN of the secret DMS reads the source credentials from: the module's DMS-shaped copy of the master secret, or the given source_secret_arn (the ARN only, never its value)."
  value       = local.source_secret_arn
}

output "secrets_access_role_arn" {
  description = "Role DMS assumes to read the source secret."
  value       = try(aws_iam_role.secrets_access.arn, null)
}
