output "bucket_names" {
  description = "Bucket name per role: bronze, silver, gold, artifacts, athena_results."
  value       = local.bucket_ids
}

output "bucket_arns" {
  description = "Bucket ARN per role."
  value       = local.bucket_arns
}

output "data_bucket_names" {
  description = "Names of the data-bearing buckets (never destroyed by a DAG)."
  value       = [for k, v in local.buckets : local.bucket_ids[k] if v.data]
}

output "athena_results_location" {
  description = "S3 URI for Athena query results."
  value       = "s3://${local.bucket_ids["athena_results"]}/results/"
}

output "access_log_bucket_name" {
  description = "Bucket receiving the S3 server access logs of every lake bucket (`<bucket>/` prefix each)."
  value       = aws_s3_bucket.access_logs.id
  # S3 refuses a logging configuration until the target's policy lets the logging service write
  depends_on = [aws_s3_bucket_policy.access_logs]
}
