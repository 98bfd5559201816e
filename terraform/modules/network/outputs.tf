output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "Public subnet IDs (load balancer, NAT), in `azs` order."
  value       = [for az in var.azs : aws_subnet.public[az].id]
}

output "private_subnet_ids" {
  description = "Private subnet IDs (Glue, RDS, DMS, ECS, MWAA), in `azs` order."
  value       = [for az in var.azs : aws_subnet.private[az].id]
}

output "security_group_ids" {
  description = "Security group ID per tier: alb, ecs, glue, rds, dms, mwaa."
  value       = { for k, sg in aws_security_group.tier : k => sg.id }
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}

output "nat_gateway_id" {
  description = "ID of the NAT gateway, or null when disabled."
  value       = try(aws_nat_gateway.this[0].id, null)
}

output "flow_log_group_name" {
  description = "CloudWatch log group receiving the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}
