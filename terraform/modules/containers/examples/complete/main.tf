# Runnable example: the dbt task definition, its cluster and image repository against the local AWS emulator.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}

provider "aws" {
  region = "eu-central-1"
}

resource "aws_kms_key" "platform" {
  #checkov:skip=CKV2_AWS_64:emulator stand-in for iam_metadata's platform key, which has an explicit key policy
  description         = "EDP platform key (local example)"
  enable_key_rotation = true
}

resource "aws_iam_role" "ecs_task" {
  name = "edp-example-ecs-task"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ecs-tasks.amazonaws.com" } }]
  })
}

module "containers" {
  source = "../.."

  name_prefix   = "edp-example"
  kms_key_arn   = aws_kms_key.platform.arn
  task_role_arn = aws_iam_role.ecs_task.arn
  image_tag     = "1.0.0"
}

output "cluster_arn" {
  value = module.containers.cluster_arn
}

output "task_definition_arn" {
  value = module.containers.task_definition_arn
}

output "container_name" {
  value = module.containers.container_name
}

output "repository_url" {
  value = module.containers.repository_url
}

output "role_arns" {
  value = module.containers.role_arns
}
