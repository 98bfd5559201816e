locals {
  tags   = merge({ "edp:module" = "processing" }, var.tags)
  script = "bronze_to_silver.py"
  crawled = {
    bronze = "s3://${var.bucket_names.bronze}/${var.source_schema}/"
    silver = "s3://${var.bucket_names.silver}/"
  }
}

resource "aws_s3_object" "script" {
  bucket                 = var.bucket_names.artifacts
  key                    = "glue-scripts/${local.script}"
  source                 = "${var.scripts_dir}/${local.script}"
  source_hash            = filemd5("${var.scripts_dir}/${local.script}")
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  tags                   = local.tags
}

resource "aws_glue_security_configuration" "this" {
  name = "${var.name_prefix}-glue"

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }
    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }
    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

resource "aws_glue_connection" "network" {
  count           = var.glue_connection == null ? 0 : 1
  name            = "${var.name_prefix}-private"
  connection_type = "NETWORK"

  physical_connection_requirements {
    subnet_id              = var.glue_connection.subnet_id
    availability_zone      = var.glue_connection.availability_zone
    security_group_id_list = var.glue_connection.security_group_ids
  }

  tags = local.tags
}

resource "aws_glue_job" "bronze_to_silver" {
  name                   = "${var.name_prefix}-bronze-to-silver"
  role_arn               = var.glue_role_arn
  glue_version           = var.glue_version
  worker_type            = var.glue_worker_type
  number_of_workers      = var.glue_workers
  timeout                = 60
  security_configuration = aws_glue_security_configuration.this.name
  connections            = aws_glue_connection.network[*].name

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "s3://${aws_s3_object.script.bucket}/${aws_s3_object.script.key}"
  }

  # per-run arguments (--table, --primary_key) come from the Step Functions Map / Airflow mapped task
  default_arguments = {
    "--job-language"                     = "python"
    "--bronze_path"                      = "s3://${var.bucket_names.bronze}"
    "--silver_path"                      = "s3://${var.bucket_names.silver}"
    "--schema"                           = var.source_schema
    "--enable-continuous-cloudwatch-log" = "true"
    "--enable-metrics"                   = "true"
    "--TempDir"                          = "s3://${var.bucket_names.artifacts}/glue-temp/"
  }

  execution_property {
    max_concurrent_runs = 8
  }

  tags = local.tags
}

resource "aws_glue_crawler" "layer" {
  for_each      = local.crawled
  name          = "${var.name_prefix}-${each.key}"
  role          = var.glue_role_arn
  database_name = var.glue_database_names[each.key]

  s3_target {
    path       = each.value
    exclusions = ["_bookmarks/**", "_staging/**", "_previous/**", "_dms_journal/**", "_archive/**", "**.inprogress"]
  }

  schema_change_policy {
    update_behavior = "UPDATE_IN_DATABASE"
    delete_behavior = "LOG"
  }

  recrawl_policy {
    recrawl_behavior = "CRAWL_EVERYTHING"
  }

  security_configuration = aws_glue_security_configuration.this.name
  tags                   = local.tags
}

resource "aws_athena_workgroup" "this" {
  name          = var.name_prefix
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    result_configuration {
      output_location = "s3://${var.bucket_names.athena_results}/results/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = local.tags
}
