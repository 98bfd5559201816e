output "state_machine_arn" {
  description = "ARN of the pipeline state machine."
  value       = aws_sfn_state_machine.pipeline.arn
}

output "state_machine_role_arn" {
  description = "ARN of the role the state machine runs as."
  value       = aws_iam_role.state_machine.arn
}

output "schedule_rule_name" {
  description = "Name of the EventBridge rule that starts scheduled runs, or null when the task list has no schedule."
  value       = try(aws_cloudwatch_event_rule.nightly[0].name, null)
}

output "log_group_name" {
  description = "CloudWatch log group of the executions."
  value       = aws_cloudwatch_log_group.executions.name
}
