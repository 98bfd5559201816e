output "alarm_topic_arn" {
  description = "SNS topic every alarm and failure event publishes to (on_failure callbacks use it too)."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value = concat(
    [aws_cloudwatch_metric_alarm.pipeline_failed.alarm_name, aws_cloudwatch_metric_alarm.silver_stale.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.glue_failed_tasks : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.dms_latency : a.alarm_name],
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.platform.dashboard_name
}
