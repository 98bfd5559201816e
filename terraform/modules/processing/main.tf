locals {
  tags = merge({ "edp:module" = "processing" }, var.tags)
  # Glue's runtime in one place: the Glue version the jobs run and the Spark, Python and Iceberg it brings; the
  # local PySpark pin follows it and tests/glue/test_glue_runtime.py fails when the two disagree
  glue_runtime = jsondecode(file("${path.module}/glue_runtime.json"))
  # Iceberg's Spark catalog over the Glue Data Catalog, Silver's bucket its warehouse (one --conf value: Glue
  # takes further Spark settings as `--conf` inside it)
  iceberg_catalog = "glue_catalog"
  iceberg_conf = join(" --conf ", [
    "spark.sql.extensions=org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
    "spark.sql.catalog.${local.iceberg_catalog}=org.apache.iceberg.spark.SparkCatalog",
    "spark.sql.catalog.${local.iceberg_catalog}.warehouse=s3://${var.bucket_names.silver}/",
    "spark.sql.catalog.${local.iceberg_catalog}.catalog-impl=org.apache.iceberg.aws.glue.GlueCatalog",
    "spark.sql.catalog.${local.iceberg_catalog}.io-impl=org.apache.iceberg.aws.s3.S3FileIO",
  ])
  # each script once, however many jobs run it
  scripts = toset([for job in values(var.glue_jobs) : job.script])
  # what a crawler of each layer reads: Bronze under the source schema DMS writes, Silver and Gold whole
  layer_paths = {
    bronze = try("s3://${var.bucket_names.bronze}/${var.source_schema}/", null)
    silver = try("s3://${var.bucket_names.silver}/", null)
    gold   = try("s3://${var.bucket_names.gold}/", null)
  }
}

resource "aws_s3_object" "script" {
  for_each               = local.scripts
  bucket                 = var.bucket_names.artifacts
  key                    = "glue-scripts/${each.key}"
  source                 = "${var.scripts_dir}/${each.key}"
  source_hash            = filemd5("${var.scripts_dir}/${each.key}")
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

# One job per glue_job task, named <prefix>-<name suffix> as the state machine and the Airflow operators
# derive it (edp.kinds.base.resource_name).
resource "aws_glue_job" "this" {
  for_each               = var.glue_jobs
  name                   = "${var.name_prefix}-${each.value.name_suffix}"
  role_arn               = var.glue_role_arn
  glue_version           = local.glue_runtime.glue_version
  worker_type            = var.glue_worker_type
  number_of_workers      = each.value.workers # per run, a session's glue_workers knob overrides it
  timeout                = 60
  security_configuration = aws_glue_security_configuration.this.name
  connections            = aws_glue_connection.network[*].name

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "s3://${aws_s3_object.script[each.value.script].bucket}/${aws_s3_object.script[each.value.script].key}"
  }

  # per-run arguments (a mapped job's --table and --primary_key, the task's own arguments) come from the
  # Step Functions definition / the Airflow operator
  # Silver is Apache Iceberg in the Glue Data Catalog (Glue's own Iceberg, --datalake-formats): the scripts
  # write `<catalog>.<namespace>.<table>`, each write one commit, so no reader sees part of one
  default_arguments = merge({
    "--job-language"                     = "python"
    "--bronze_path"                      = "s3://${var.bucket_names.bronze}"
    "--silver_path"                      = "s3://${var.bucket_names.silver}"
    "--schema"                           = var.source_schema
    "--enable-continuous-cloudwatch-log" = "true"
    "--enable-metrics"                   = "true"
    "--TempDir"                          = "s3://${var.bucket_names.artifacts}/glue-temp/"
    "--datalake-formats"                 = "iceberg"
    "--conf"                             = local.iceberg_conf
    }, try({
      "--catalog"   = local.iceberg_catalog
      "--namespace" = var.glue_database_names.silver
  }, {}))

  execution_property {
    # a mapped job runs once per table at the same time (the Map state runs up to 4)
    max_concurrent_runs = each.value.mapped ? 8 : 1
  }

  tags = local.tags
}

# One crawler per glue_crawler task over its layer, skipping the pipeline's bookkeeping folders; Silver's
# crawler catalogues Iceberg tables.
resource "aws_glue_crawler" "this" {
  for_each      = var.crawlers
  name          = "${var.name_prefix}-${each.value.name_suffix}"
  role          = var.glue_role_arn
  database_name = var.glue_database_names[each.value.layer]

  # Silver holds Iceberg tables (the Glue jobs register them): the crawler reads their metadata, never their
  # data files as plain parquet, so it cannot replace an Iceberg table with a folder of every snapshot's files
  dynamic "s3_target" {
    for_each = each.value.layer == "silver" ? [] : [local.layer_paths[each.value.layer]]
    content {
      path       = s3_target.value
      exclusions = ["_bookmarks/**", "_staging/**", "_previous/**", "_dms_journal/**", "_archive/**", "**.inprogress"]
    }
  }

  dynamic "iceberg_target" {
    for_each = each.value.layer == "silver" ? [local.layer_paths[each.value.layer]] : []
    content {
      paths                   = [iceberg_target.value]
      exclusions              = ["_bookmarks/**", "_stats/**"]
      maximum_traversal_depth = 3
    }
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

  lifecycle {
    precondition {
      condition     = local.layer_paths[each.value.layer] != null && contains(keys(var.glue_database_names), each.value.layer)
      error_message = "crawler ${each.key} catalogues layer ${each.value.layer}: bucket_names and glue_database_names must name it."
    }
  }
}

# Before the task list made them: the one Bronze->Silver job keeps its name, so it moves instead of being
# replaced; the per-layer crawlers are replaced by the tasks' own.
moved {
  from = aws_glue_job.bronze_to_silver
  to   = aws_glue_job.this["bronze_to_silver"]
}

moved {
  from = aws_s3_object.script
  to   = aws_s3_object.script["bronze_to_silver.py"]
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
