output "cluster_arn" {
  description = "ARN of the ECS cluster the dbt task runs on."
  value       = aws_ecs_cluster.pipeline.arn
}

output "task_definition_arn" {
  description = "ARN (with revision) of the dbt task definition."
  value       = aws_ecs_task_definition.dbt.arn
}

output "container_name" {
  description = "Name of the container inside the task definition (for command overrides)."
  value       = local.container
}

output "repository_url" {
  description = "ECR repository the dbt image is pushed to."
  value       = aws_ecr_repository.dbt.repository_url
}

output "role_arns" {
  description = "Roles ECS uses for the task: execution (pull, logs) and task (what dbt may do); Step Functions passes both."
  value       = [aws_iam_role.execution.arn, var.task_role_arn]
}

output "log_group_name" {
  description = "Log group of the dbt container."
  value       = aws_cloudwatch_log_group.dbt.name
}
