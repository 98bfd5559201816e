# Runnable example: alarms, failure events, topic and dashboard against the local AWS emulator,
# with ingestion on (DMS alarms included).
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

module "monitoring" {
  source = "../.."

  name_prefix       = "edp-example"
  state_machine_arn = "arn:aws:states:eu-central-1:123456789012:stateMachine:edp-example-pipeline"
  glue_job_names    = ["edp-example-bronze-to-silver"]
  kms_key_arn       = aws_kms_key.platform.arn
  dms = {
    replication_instance_id = "edp-example-dms"
    replication_task_id     = "edp-example-cdc"
  }
}

output "alarm_topic_arn" {
  value = module.monitoring.alarm_topic_arn
}

output "alarm_names" {
  value = module.monitoring.alarm_names
}

output "dashboard_name" {
  value = module.monitoring.dashboard_name
}
