output "glue_job_name" {
  description = "Name of the Bronze->Silver Glue job (the ASL placeholder glue_job_bronze_to_silver)."
  value       = aws_glue_job.bronze_to_silver.name
}

output "crawler_names" {
  description = "Crawler name per layer (bronze, silver); silver is the ASL placeholder glue_crawler_silver."
  value       = { for k, c in aws_glue_crawler.layer : k => c.name }
}

output "athena_workgroup" {
  description = "Athena workgroup dbt runs in (results location and bytes limit enforced)."
  value       = aws_athena_workgroup.this.name
}

output "glue_connection_name" {
  description = "Name of the Glue network connection, or null without one."
  value       = try(aws_glue_connection.network[0].name, null)
}

output "script_location" {
  description = "S3 URI of the uploaded Glue script."
  value       = "s3://${aws_s3_object.script.bucket}/${aws_s3_object.script.key}"
}
