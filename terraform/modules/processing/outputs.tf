output "glue_jobs" {
  description = "Glue job name by task id (`<name_prefix>-<name_suffix>`, the name the state machine and the Airflow operators use)."
  value       = { for id, job in aws_glue_job.this : id => job.name }
}

output "crawlers" {
  description = "Crawler name by task id (`<name_prefix>-<name_suffix>`)."
  value       = { for id, crawler in aws_glue_crawler.this : id => crawler.name }
}

output "athena_workgroup" {
  description = "Athena workgroup dbt and the quality gates run in (results location and bytes limit enforced)."
  value       = aws_athena_workgroup.this.name
}

output "glue_connection_name" {
  description = "Name of the Glue network connection, or null without one."
  value       = try(aws_glue_connection.network[0].name, null)
}

output "script_locations" {
  description = "S3 URI of each uploaded Glue script, by file name."
  value       = { for script, object in aws_s3_object.script : script => "s3://${object.bucket}/${object.key}" }
}
