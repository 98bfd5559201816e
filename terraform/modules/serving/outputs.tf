output "namespace_name" {
  description = "Name of the Redshift Serverless namespace: the one created here, or the existing one the workgroup attaches to."
  value       = local.namespace_name
}

output "namespace_id" {
  description = "ID of the namespace (what usage and audit records carry), or null unless create_namespace."
  value       = local.namespace.namespace_id
}

output "namespace_arn" {
  description = "ARN of the namespace, or null unless create_namespace."
  value       = local.namespace.arn
}

output "workgroup_name" {
  description = "Name of the workgroup (dbt's and the Redshift Data API's `workgroup_name`), or null unless create_workgroup."
  value       = try(aws_redshiftserverless_workgroup.this[0].workgroup_name, null)
}

output "workgroup_arn" {
  description = "ARN of the workgroup, or null unless create_workgroup."
  value       = try(aws_redshiftserverless_workgroup.this[0].arn, null)
}

output "endpoint_address" {
  description = "Private DNS name of the workgroup endpoint, or null until the service reports it (or without a workgroup)."
  value       = try(aws_redshiftserverless_workgroup.this[0].endpoint[0].address, null)
}

output "endpoint_port" {
  description = "Port of the workgroup endpoint, or null until the service reports it (or without a workgroup)."
  value       = try(aws_redshiftserverless_workgroup.this[0].endpoint[0].port, null)
}

output "database_name" {
  description = "Name of the first database of the namespace, or null unless create_namespace (the namespace's owner publishes it)."
  value       = var.create_namespace ? var.database_name : null
}

output "admin_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the generated admin credentials (the ARN only, never the value), or null unless create_namespace."
  value       = local.namespace.admin_secret_arn
}

output "role_arn" {
  description = "ARN of the namespace's default role (read-only Spectrum access to Gold), or null unless create_namespace."
  value       = try(aws_iam_role.spectrum[0].arn, null)
}

output "usage_limit_arn" {
  description = "ARN of the compute usage limit, or null without one."
  value       = try(aws_redshiftserverless_usage_limit.compute[0].arn, null)
}
