output "bucket_name" {
  description = "Name of the MWAA source bucket (DAGs go under `dags/`)."
  value       = aws_s3_bucket.source.id
}

output "bucket_arn" {
  description = "ARN of the MWAA source bucket."
  value       = aws_s3_bucket.source.arn
}

output "dag_s3_path" {
  description = "Prefix of the DAG files in the source bucket."
  value       = aws_s3_object.dags.key
}

output "object_versions" {
  description = "S3 version of each uploaded artifact (requirements, startup, plugins), the versions the environment pins."
  value       = { for k, o in aws_s3_object.artifact : k => o.version_id }
}

output "execution_role_arn" {
  description = "ARN of the environment's execution role."
  value       = aws_iam_role.execution.arn
}

output "execution_role_name" {
  description = "Name of the execution role (to attach further policies)."
  value       = aws_iam_role.execution.name
}

output "environment_name" {
  description = "Name of the MWAA environment, or null when create_environment is false."
  value       = try(aws_mwaa_environment.this[0].name, null)
}

output "environment_arn" {
  description = "ARN of the MWAA environment, or null when create_environment is false."
  value       = try(aws_mwaa_environment.this[0].arn, null)
}

output "webserver_url" {
  description = "Host name of the Airflow UI, or null when create_environment is false."
  value       = try(aws_mwaa_environment.this[0].webserver_url, null)
}
