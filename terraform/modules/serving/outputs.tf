output "namespace_name" {
  description = "Name of the Redshift Serverless namespace."
  value       = aws_redshiftserverless_namespace.this.namespace_name
}

output "namespace_id" {
  description = "ID of the namespace (what usage and audit records carry)."
  value       = aws_redshiftserverless_namespace.this.namespace_id
}

output "namespace_arn" {
  description = "ARN of the namespace."
  value       = aws_redshiftserverless_namespace.this.arn
}

output "workgroup_name" {
  description = "Name of the workgroup (dbt's and the Redshift Data API's `workgroup_name`)."
  value       = aws_redshiftserverless_workgroup.this.workgroup_name
}

output "workgroup_arn" {
  description = "ARN of the workgroup."
  value       = aws_redshiftserverless_workgroup.this.arn
}

output "endpoint_address" {
  description = "Private DNS name of the workgroup endpoint, or null until the service reports it."
  value       = try(aws_redshiftserverless_workgroup.this.endpoint[0].address, null)
}

output "endpoint_port" {
  description = "Port of the workgroup endpoint, or null until the service reports it."
  value       = try(aws_redshiftserverless_workgroup.this.endpoint[0].port, null)
}

output "database_name" {
  description = "Name of the first database of the namespace."
  value       = var.database_name
}

output "admin_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the generated admin credentials (the ARN only, never the value)."
  value       = try(aws_redshiftserverless_namespace.this.admin_password_secret_arn, null)
}

output "role_arn" {
  description = "ARN of the namespace's default role (read-only Spectrum access to Gold)."
  value       = aws_iam_role.spectrum.arn
}

output "usage_limit_arn" {
  description = "ARN of the compute usage limit, or null without one."
  value       = try(aws_redshiftserverless_usage_limit.compute[0].arn, null)
}
