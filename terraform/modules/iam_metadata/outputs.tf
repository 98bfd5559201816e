output "kms_key_arn" {
  description = "ARN of the platform KMS key (lake, catalog, logs, secrets)."
  value       = aws_kms_key.platform.arn
}

output "kms_alias" {
  description = "Alias of the platform KMS key."
  value       = aws_kms_alias.platform.name
}

output "role_arns" {
  description = "Role ARN per service: glue, dms, ecs_task, mwaa."
  value       = { for k, r in aws_iam_role.service : k => r.arn }
}

output "glue_database_names" {
  description = "Glue catalog database per layer: bronze, silver, gold."
  value       = { for k, d in aws_glue_catalog_database.layer : k => d.name }
}

output "session_runner_role_arn" {
  description = "Role the session DAG assumes to apply and destroy the session stack, or null without session_runner."
  value       = try(aws_iam_role.session_runner[0].arn, null)
}

output "session_boundary_arn" {
  description = "Permissions boundary every role of the session stack must carry (the runner creates roles only under it), or null."
  value       = try(aws_iam_policy.session_boundary[0].arn, null)
}
