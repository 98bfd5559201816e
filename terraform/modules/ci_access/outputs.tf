output "plan_role_arn" {
  description = "Role a pull request's workflow assumes to plan (null when no plan subject is given)."
  value       = try(aws_iam_role.plan[0].arn, null)
}

output "deploy_role_arn" {
  description = "Role the deploying workflow assumes to apply the foundation and deploy MWAA."
  value       = aws_iam_role.deploy.arn
}

output "oidc_provider_arn" {
  description = "The account's GitHub OIDC provider the roles trust."
  value       = local.provider
}
