# The container side of the pipeline: dbt (and the artifact publisher) run as one Fargate task
# definition on one cluster; Step Functions and Airflow both start it with a command override.
data "aws_region" "current" {}

locals {
  tags      = merge({ "edp:module" = "containers" }, var.tags)
  container = "dbt"
}

resource "aws_ecr_repository" "dbt" {
  name                 = "${var.name_prefix}-dbt"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = local.tags
}

resource "aws_ecr_lifecycle_policy" "dbt" {
  repository = aws_ecr_repository.dbt.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the last 20 images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 20 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_ecs_cluster" "pipeline" {
  name = "${var.name_prefix}-pipeline"

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

resource "aws_cloudwatch_log_group" "dbt" {
  name              = "/ecs/${var.name_prefix}-dbt"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# The execution role only pulls this repository's image and writes this log group.
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [aws_ecr_repository.dbt.arn]
  }
  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.dbt.arn}:*"]
  }
  statement {
    sid       = "DecryptImage"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-dbt-execution"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-and-log"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_ecs_task_definition" "dbt" {
  family                   = "${var.name_prefix}-dbt"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = var.task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([{
    name      = local.container
    image     = "${aws_ecr_repository.dbt.repository_url}:${var.image_tag}"
    essential = true
    command   = ["dbt", "build", "--target", "athena"]
    # the image stays read-only; dbt writes target/ and logs/ and Python its temp files to a task-scoped /tmp
    readonlyRootFilesystem = true
    mountPoints            = [{ sourceVolume = "scratch", containerPath = "/tmp", readOnly = false }]
    environment = concat([
      { name = "DBT_TARGET_PATH", value = "/tmp/dbt/target" },
      { name = "DBT_LOG_PATH", value = "/tmp/dbt/logs" },
      { name = "DBT_SEND_ANONYMOUS_USAGE_STATS", value = "false" },
      { name = "EDP_DBT_TARGET", value = "athena" },
    ], [for k in sort(keys(var.environment_variables)) : { name = k, value = var.environment_variables[k] }])
    user = "1000"
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.dbt.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "dbt"
      }
    }
  }])

  volume {
    name = "scratch" # Fargate task storage, gone with the task
  }

  tags = local.tags
}
