locals {
  tags    = merge({ "edp:module" = "network" }, var.tags)
  public  = { for i, az in var.azs : az => cidrsubnet(var.cidr_block, 8, i) }
  private = { for i, az in var.azs : az => cidrsubnet(var.cidr_block, 8, 10 + i) }
  # security group per tier of the platform
  tiers = {
    alb  = "public load balancer"
    ecs  = "ECS tasks (dbt, analytics services)"
    glue = "Glue job ENIs"
    rds  = "source PostgreSQL"
    dms  = "DMS replication instance"
    mwaa = "MWAA environment"
  }
  # (tier, port, from tier): the only ingress inside the VPC
  ingress = {
    ecs_from_alb  = { tier = "ecs", port = 8080, from = "alb" }
    rds_from_dms  = { tier = "rds", port = 5432, from = "dms" }
    mwaa_from_ecs = { tier = "mwaa", port = 443, from = "ecs" }
  }
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(local.tags, { Name = var.name_prefix })
}

# -- flow logs: every accepted and rejected flow of the VPC, to an encrypted log group ----------------------
resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/aws/vpc/${var.name_prefix}/flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    sid       = "DeliverToTheLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [aws_cloudwatch_log_group.flow_logs.arn, "${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }
  statement {
    sid       = "FindTheLogGroup"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${var.name_prefix}-vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "deliver-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

resource "aws_flow_log" "vpc" {
  vpc_id                   = aws_vpc.this.id
  traffic_type             = var.flow_log_traffic_type
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn             = aws_iam_role.flow_logs.arn
  max_aggregation_interval = 600
  tags                     = merge(local.tags, { Name = "${var.name_prefix}-vpc" })

  depends_on = [aws_iam_role_policy.flow_logs]
}

# No rules: anything that forgets its own security group gets no traffic at all.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name_prefix}-default-closed" })
}

resource "aws_subnet" "public" {
  for_each          = local.public
  vpc_id            = aws_vpc.this.id
  availability_zone = each.key
  cidr_block        = each.value
  tags              = merge(local.tags, { Name = "${var.name_prefix}-public-${each.key}", "edp:tier" = "public" })
}

resource "aws_subnet" "private" {
  for_each          = local.private
  vpc_id            = aws_vpc.this.id
  availability_zone = each.key
  cidr_block        = each.value
  tags              = merge(local.tags, { Name = "${var.name_prefix}-private-${each.key}", "edp:tier" = "private" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = var.name_prefix })
}

resource "aws_eip" "nat" {
  count  = var.enable_nat ? 1 : 0
  domain = "vpc"
  tags   = merge(local.tags, { Name = "${var.name_prefix}-nat" })
}

resource "aws_nat_gateway" "this" {
  count         = var.enable_nat ? 1 : 0
  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[var.azs[0]].id
  tags          = merge(local.tags, { Name = var.name_prefix })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name_prefix}-public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id
  tags   = merge(local.tags, { Name = "${var.name_prefix}-private" })
}

resource "aws_route" "private_nat" {
  count                  = var.enable_nat ? 1 : 0
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  for_each       = aws_subnet.public
  subnet_id      = each.value.id
  route_table_id = aws_route_table.public.id
}

resource "aws_route_table_association" "private" {
  for_each       = aws_subnet.private
  subnet_id      = each.value.id
  route_table_id = aws_route_table.private.id
}

# Glue, DMS and ECS reach S3 over the AWS network, not through the NAT.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id, aws_route_table.public.id]
  tags              = merge(local.tags, { Name = "${var.name_prefix}-s3" })
}

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_security_group" "tier" {
  for_each = local.tiers
  #checkov:skip=CKV2_AWS_5:the tier groups are made here for the modules that attach them (processing, ingestion, serving, containers, orchestration)
  name        = "${var.name_prefix}-${each.key}"
  description = "EDP ${each.value}"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name_prefix}-${each.key}", "edp:tier" = each.key })
}

resource "aws_security_group_rule" "tier_ingress" {
  for_each                 = local.ingress
  description              = "${each.value.from} to ${each.value.tier}"
  type                     = "ingress"
  security_group_id        = aws_security_group.tier[each.value.tier].id
  source_security_group_id = aws_security_group.tier[each.value.from].id
  protocol                 = "tcp"
  from_port                = each.value.port
  to_port                  = each.value.port
}

# Glue workers talk to each other on all TCP ports; AWS requires this self-reference.
resource "aws_security_group_rule" "glue_self" {
  description              = "Glue workers among themselves"
  type                     = "ingress"
  security_group_id        = aws_security_group.tier["glue"].id
  source_security_group_id = aws_security_group.tier["glue"].id
  protocol                 = "tcp"
  from_port                = 0
  to_port                  = 65535
}

resource "aws_security_group_rule" "alb_https" {
  count             = length(var.alb_ingress_cidrs) > 0 ? 1 : 0
  description       = "HTTPS from allowed networks"
  type              = "ingress"
  security_group_id = aws_security_group.tier["alb"].id
  cidr_blocks       = var.alb_ingress_cidrs
  protocol          = "tcp"
  from_port         = 443
  to_port           = 443
}

# Compute tiers call AWS APIs over HTTPS (through the NAT or the S3 endpoint); the database tier sends nothing.
resource "aws_security_group_rule" "https_egress" {
  for_each          = toset(["ecs", "glue", "dms", "mwaa"])
  description       = "HTTPS to AWS APIs"
  type              = "egress"
  security_group_id = aws_security_group.tier[each.key].id
  cidr_blocks       = ["0.0.0.0/0"]
  protocol          = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_security_group_rule" "dms_to_rds" {
  description              = "DMS reads the source database"
  type                     = "egress"
  security_group_id        = aws_security_group.tier["dms"].id
  source_security_group_id = aws_security_group.tier["rds"].id
  protocol                 = "tcp"
  from_port                = 5432
  to_port                  = 5432
}

resource "aws_security_group_rule" "glue_self_egress" {
  description              = "Glue workers among themselves"
  type                     = "egress"
  security_group_id        = aws_security_group.tier["glue"].id
  source_security_group_id = aws_security_group.tier["glue"].id
  protocol                 = "tcp"
  from_port                = 0
  to_port                  = 65535
}

resource "aws_security_group_rule" "alb_to_ecs" {
  description              = "Load balancer forwards to ECS tasks"
  type                     = "egress"
  security_group_id        = aws_security_group.tier["alb"].id
  source_security_group_id = aws_security_group.tier["ecs"].id
  protocol                 = "tcp"
  from_port                = 8080
  to_port                  = 8080
}
