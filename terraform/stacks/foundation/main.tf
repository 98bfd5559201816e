# The foundation: everything that outlives a session. Applied by CI or a person, never by a DAG;
# DAGs change only the session stack, which reads `session_inputs` from this stack's state.
locals {
  name_prefix   = "edp-${var.environment}"
  tags          = var.foundation.tags
  scripts_dir   = coalesce(var.scripts_dir, "${path.root}/../../../glue_scripts")
  mwaa_settings = merge(var.foundation.mwaa, var.mwaa_files)

  layers           = ["bronze", "silver", "gold", "artifacts", "athena_results"]
  bucket_arns      = { for k in local.layers : k => "arn:aws:s3:::${local.name_prefix}-${replace(k, "_", "-")}" }
  glue_prefix      = replace(local.name_prefix, "-", "_")
  session_param    = "/${local.name_prefix}/session"
  foundation_param = "/${local.name_prefix}/foundation"
  # the session stack names its DMS resources so; the alarms exist before the first session
  dms_ids = { replication_instance_id = "${local.name_prefix}-dms", replication_task_id = "${local.name_prefix}-cdc" }

  # What the task list (dags/pipeline.yaml) needs, written by `edp sfn render` beside the definition: each
  # task's Glue job and crawler, the DMS tasks, the kinds in use and the schedule. Read here only; the modules
  # get its parts as variables, so a task added to the list needs no HCL edit.
  task_resources = jsondecode(file("${path.module}/../../modules/step_functions/resources.json"))
  task_kinds     = local.task_resources.kinds

  partition    = data.aws_partition.current.partition
  region       = data.aws_region.current.name
  account      = data.aws_caller_identity.current.account_id
  cluster_name = element(split("/", module.containers.cluster_arn), 1)
  ecs = {
    cluster_arn         = module.containers.cluster_arn
    task_definition_arn = module.containers.task_definition_arn
    container_name      = module.containers.container_name
    subnet_ids          = module.network.private_subnet_ids
    security_group_id   = module.network.security_group_ids["ecs"]
  }
  mwaa = {
    bucket_name        = module.orchestration.bucket_name
    execution_role_arn = module.orchestration.execution_role_arn
    environment_name   = module.orchestration.environment_name
    webserver_url      = module.orchestration.webserver_url
  }
}

module "network" {
  source = "../../modules/network"

  name_prefix = local.name_prefix
  cidr_block  = var.foundation.cidr_block
  azs         = var.foundation.azs
  enable_nat  = var.foundation.enable_nat
  kms_key_arn = module.iam_metadata.kms_key_arn # encrypts the VPC flow-log group
  tags        = local.tags
}

module "iam_metadata" {
  source = "../../modules/iam_metadata"

  name_prefix          = local.name_prefix
  glue_database_prefix = local.glue_prefix
  bucket_arns          = local.bucket_arns
  # the role the session DAG's Terraform runs as, assumed from the MWAA execution role
  session_runner = var.state_bucket == null ? null : {
    state_bucket      = var.state_bucket
    state_key_prefix  = "${var.environment}/session"
    read_state_keys   = ["${var.environment}/foundation.tfstate"]
    trusted_role_arns = [module.orchestration.execution_role_arn]
  }
  tags = local.tags
}

module "data_lake" {
  source = "../../modules/data_lake"

  name_prefix  = local.name_prefix
  kms_key_arn  = module.iam_metadata.kms_key_arn
  protect_data = var.foundation.protect_data
  # by name: the MWAA bucket logs here, and its module already depends on this one
  extra_logged_bucket_arns = ["arn:aws:s3:::${local.name_prefix}-mwaa-source"]
  tags                     = local.tags
}

module "processing" {
  source = "../../modules/processing"

  name_prefix                 = local.name_prefix
  bucket_names                = module.data_lake.bucket_names
  glue_database_names         = module.iam_metadata.glue_database_names
  glue_role_arn               = module.iam_metadata.role_arns["glue"]
  kms_key_arn                 = module.iam_metadata.kms_key_arn
  scripts_dir                 = local.scripts_dir
  glue_jobs                   = local.task_resources.glue_jobs # one job and one crawler per task of the list
  crawlers                    = local.task_resources.crawlers
  athena_bytes_scanned_cutoff = var.foundation.athena_bytes_scanned_cutoff
  glue_connection = {
    subnet_id          = module.network.private_subnet_ids[0]
    availability_zone  = var.foundation.azs[0]
    security_group_ids = [module.network.security_group_ids["glue"]]
  }
  tags = local.tags
}

module "containers" {
  source = "../../modules/containers"

  name_prefix   = local.name_prefix
  kms_key_arn   = module.iam_metadata.kms_key_arn
  task_role_arn = module.iam_metadata.role_arns["ecs_task"]
  image_tag     = var.foundation.dbt_image_tag
  # the dbt profile's athena target and the entrypoint's artifact upload read these
  environment_variables = {
    AWS_REGION            = data.aws_region.current.name
    EDP_ENVIRONMENT       = var.environment
    EDP_GOLD_DATABASE     = module.iam_metadata.glue_database_names["gold"]
    EDP_GOLD_S3           = "s3://${module.data_lake.bucket_names["gold"]}/"
    EDP_ATHENA_RESULTS_S3 = "s3://${module.data_lake.bucket_names["athena_results"]}/dbt/"
    EDP_ATHENA_WORKGROUP  = module.processing.athena_workgroup
    EDP_ARTIFACTS_BUCKET  = module.data_lake.bucket_names["artifacts"]
  }
  log_retention_days = var.foundation.log_retention_days
  tags               = local.tags
}

module "step_functions" {
  source = "../../modules/step_functions"

  name_prefix = local.name_prefix
  # the placeholders' values: what edp.asl.placeholder_values reads from the published foundation parameter
  definition_variables = {
    name_prefix                 = local.name_prefix
    session_parameter           = local.session_param
    default_glue_workers        = var.foundation.glue_workers
    dms_replication_instance_id = local.dms_ids.replication_instance_id
    dms_replication_task_id     = local.dms_ids.replication_task_id
    ecs_cluster_arn             = local.ecs.cluster_arn
    dbt_task_definition_arn     = local.ecs.task_definition_arn
    dbt_container_name          = local.ecs.container_name
    private_subnet_a            = local.ecs.subnet_ids[0]
    private_subnet_b            = local.ecs.subnet_ids[1]
    ecs_security_group_id       = local.ecs.security_group_id
    glue_database_gold          = module.iam_metadata.glue_database_names["gold"]
    glue_database_silver        = module.iam_metadata.glue_database_names["silver"]
    athena_workgroup            = module.processing.athena_workgroup
  }
  # the role's permissions and the schedule, from the task list
  glue_jobs           = local.task_resources.glue_jobs
  crawlers            = local.task_resources.crawlers
  dms                 = local.task_resources.dms
  kinds               = local.task_kinds
  schedule_expression = local.task_resources.schedule
  athena_access = {
    results_bucket_arn = module.data_lake.bucket_arns["athena_results"]
    data_bucket_arns   = [module.data_lake.bucket_arns["gold"], module.data_lake.bucket_arns["silver"]]
    kms_key_arns       = [module.iam_metadata.kms_key_arn]
  }
  ecs_task_role_arns = module.containers.role_arns
  schedule_enabled   = var.foundation.schedule_enabled # the environment's switch
  log_retention_days = var.foundation.log_retention_days
  kms_key_arn        = module.iam_metadata.kms_key_arn
  tags               = local.tags
}

module "orchestration" {
  source = "../../modules/orchestration"

  name_prefix         = local.name_prefix
  kms_key_arn         = module.iam_metadata.kms_key_arn
  create_environment  = var.foundation.enable_mwaa
  airflow_version     = local.mwaa_settings.airflow_version
  environment_class   = local.mwaa_settings.environment_class
  min_workers         = local.mwaa_settings.min_workers
  max_workers         = local.mwaa_settings.max_workers
  requirements_path   = local.mwaa_settings.requirements_path
  startup_script_path = local.mwaa_settings.startup_script_path
  plugins_zip_path    = local.mwaa_settings.plugins_zip_path
  subnet_ids          = module.network.private_subnet_ids
  security_group_ids  = [module.network.security_group_ids["mwaa"]]
  access_logging      = { target_bucket = module.data_lake.access_log_bucket_name }
  airflow_configuration_options = {
    "core.dag_file_processor_timeout" = "150"
    # the pipeline's datasets for the operators that emit none (edp.lineage); the transport is the operator's
    "openlineage.extractors" = "edp.lineage.TaskListExtractor"
    "openlineage.namespace"  = local.name_prefix
  }
  # MWAA workers run the pipeline's aws tasks and the session DAG's Terraform (as the session runner)
  extra_policies = { pipeline = data.aws_iam_policy_document.mwaa_pipeline.json }
  tags           = local.tags
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_iam_policy_document" "mwaa_pipeline" {
  statement {
    sid     = "AssumeSessionRunner"
    actions = ["sts:AssumeRole"]
    # by name: the runner trusts this role, so an attribute reference would be a cycle
    resources = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/${local.name_prefix}-session-runner"]
  }
  statement {
    sid     = "ReadPublishedOutputs"
    actions = ["ssm:GetParameter"]
    resources = [for p in [local.session_param, local.foundation_param] :
    "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter${p}"]
  }
  # the pipeline's aws target: each grant names the resources of the task list's tasks (their own Glue jobs
  # and crawlers), and a service only when a task of the kind that calls it is in the list
  dynamic "statement" {
    for_each = length(module.processing.glue_jobs) > 0 ? [1] : []
    content {
      sid       = "RunGlueJobs"
      actions   = ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:GetJob", "glue:BatchStopJobRun"]
      resources = [for j in values(module.processing.glue_jobs) : "arn:${local.partition}:glue:${local.region}:${local.account}:job/${j}"]
    }
  }
  dynamic "statement" {
    for_each = length(module.processing.crawlers) > 0 ? [1] : []
    content {
      sid       = "RunCrawlers"
      actions   = ["glue:StartCrawler", "glue:GetCrawler"]
      resources = [for c in values(module.processing.crawlers) : "arn:${local.partition}:glue:${local.region}:${local.account}:crawler/${c}"]
    }
  }
  dynamic "statement" {
    for_each = length(module.processing.crawlers) > 0 ? [1] : []
    content {
      sid       = "ReadCrawlerMetrics"
      actions   = ["glue:GetCrawlerMetrics"] # no resource-level permissions
      resources = ["*"]
    }
  }
  # quality gates: queries in the platform's workgroup over the Gold and Silver catalog, results in its bucket
  dynamic "statement" {
    for_each = contains(local.task_kinds, "quality_gate") ? [1] : []
    content {
      sid       = "RunQualityGates"
      actions   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"]
      resources = ["arn:${local.partition}:athena:${local.region}:${local.account}:workgroup/${module.processing.athena_workgroup}"]
    }
  }
  dynamic "statement" {
    for_each = contains(local.task_kinds, "quality_gate") ? [1] : []
    content {
      sid     = "QualityGateCatalog"
      actions = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"]
      resources = concat(["arn:${local.partition}:glue:${local.region}:${local.account}:catalog"], flatten([
        for l in ["gold", "silver"] : [
          "arn:${local.partition}:glue:${local.region}:${local.account}:database/${module.iam_metadata.glue_database_names[l]}",
          "arn:${local.partition}:glue:${local.region}:${local.account}:table/${module.iam_metadata.glue_database_names[l]}/*",
      ]]))
    }
  }
  dynamic "statement" {
    for_each = contains(local.task_kinds, "quality_gate") ? [1] : []
    content {
      sid = "QualityGateData"
      actions = ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:ListBucketMultipartUploads",
      "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
      resources = [module.data_lake.bucket_arns["athena_results"], "${module.data_lake.bucket_arns["athena_results"]}/*"]
    }
  }
  dynamic "statement" {
    for_each = contains(local.task_kinds, "quality_gate") ? [1] : []
    content {
      sid       = "QualityGateReadsLake"
      actions   = ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"]
      resources = flatten([for l in ["gold", "silver"] : [module.data_lake.bucket_arns[l], "${module.data_lake.bucket_arns[l]}/*"]])
    }
  }
  # serving loads: the Data API on the serving session's workgroup (created by the session stack under a
  # generated id, so any workgroup of this account and region), with IAM credentials
  dynamic "statement" {
    for_each = contains(local.task_kinds, "serving_load") ? [1] : []
    content {
      sid       = "LoadServing"
      actions   = ["redshift-data:BatchExecuteStatement", "redshift-serverless:GetCredentials"]
      resources = ["arn:${local.partition}:redshift-serverless:${local.region}:${local.account}:workgroup/*"]
    }
  }
  dynamic "statement" {
    for_each = contains(local.task_kinds, "serving_load") ? [1] : []
    content {
      sid       = "WatchServingLoad"
      actions   = ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"]
      resources = ["*"] # no resource-level permissions: only the statements this role ran
      condition {
        test     = "StringEquals"
        variable = "redshift-data:statement-owner-iam-userid"
        values   = ["$${aws:userid}"]
      }
    }
  }
  statement {
    sid       = "RunDbtTask"
    actions   = ["ecs:RunTask"]
    resources = ["${replace(module.containers.task_definition_arn, "/:\\d+$/", "")}:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [module.containers.cluster_arn]
    }
  }
  statement {
    sid       = "WatchDbtTask"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:task/${local.cluster_name}/*"]
  }
  statement {
    sid       = "PassDbtRoles"
    actions   = ["iam:PassRole"]
    resources = module.containers.role_arns
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
  statement {
    sid     = "DriveReplicationTask"
    actions = ["dms:StartReplicationTask", "dms:StopReplicationTask"]
    # the task exists only while a session is on, under a generated ARN: only this platform's tasks (the
    # session stack tags every resource edp:platform = the name prefix), in this account and region
    resources = ["arn:${local.partition}:dms:${local.region}:${local.account}:task:*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/edp:platform"
      values   = [local.name_prefix]
    }
  }
  statement {
    sid       = "WatchReplication"
    actions   = ["dms:DescribeReplicationTasks", "cloudwatch:GetMetricData"] # no resource-level permissions
    resources = ["*"]
  }
  statement {
    sid       = "PublishArtifacts"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:ListBucket"]
    resources = [module.data_lake.bucket_arns["artifacts"], "${module.data_lake.bucket_arns["artifacts"]}/runs/*"]
  }
  statement {
    sid       = "CountLayerRows"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = flatten([for l in ["bronze", "silver"] : [module.data_lake.bucket_arns[l], "${module.data_lake.bucket_arns[l]}/*"]])
  }
  statement {
    sid       = "RaiseAlarms"
    actions   = ["sns:Publish"]
    resources = [module.monitoring.alarm_topic_arn]
  }
  statement {
    sid       = "UseLakeKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [module.iam_metadata.kms_key_arn]
  }
}

# What the pipeline's workers read instead of Terraform state (which needs the CLI and state access), and
# what edp.asl.placeholder_values fills the definition from: names and ARNs only, never a secret value.
resource "aws_ssm_parameter" "foundation" {
  #checkov:skip=CKV2_AWS_34:holds only names and ARNs (never a secret); workers and the MWAA deploy read it with a plain GetParameter
  name        = local.foundation_param
  description = "Outputs of the EDP foundation the pipeline and the MWAA deploy read (names and ARNs)."
  type        = "String"
  value = jsonencode({
    environment          = var.environment
    name_prefix          = local.name_prefix
    bucket_names         = module.data_lake.bucket_names
    glue_database_names  = module.iam_metadata.glue_database_names
    glue_jobs            = module.processing.glue_jobs # task id -> job name
    crawlers             = module.processing.crawlers  # task id -> crawler name
    default_glue_workers = var.foundation.glue_workers
    athena_workgroup     = module.processing.athena_workgroup
    state_machine_arn    = module.step_functions.state_machine_arn
    alarm_topic_arn      = module.monitoring.alarm_topic_arn
    ecs                  = local.ecs
    session_parameter    = local.session_param
    dms                  = local.dms_ids
    mwaa                 = local.mwaa
  })
  tags = local.tags
}

# CI's plan and deploy roles for this environment (GitHub OIDC, no stored keys); they need the state bucket
module "ci_access" {
  source = "../../modules/ci_access"
  count  = var.foundation.github != null && var.state_bucket != null ? 1 : 0

  name_prefix          = local.name_prefix
  repository           = var.foundation.github.repository
  plan_subjects        = var.foundation.github.plan_subjects
  deploy_subjects      = var.foundation.github.deploy_subjects
  create_oidc_provider = var.foundation.github.create_provider
  state_bucket         = var.state_bucket
  state_key_prefix     = "${var.environment}/"
  tags                 = local.tags
}

module "monitoring" {
  source = "../../modules/monitoring"

  name_prefix       = local.name_prefix
  state_machine_arn = module.step_functions.state_machine_arn
  glue_job_names    = values(module.processing.glue_jobs) # every Glue job of the task list
  dms               = local.dms_ids
  alarm_emails      = var.foundation.alarm_emails
  kms_key_arn       = module.iam_metadata.kms_key_arn
  tags              = local.tags
}

# The serving layer's data: the Redshift Serverless namespace (with its default role, admin secret and log
# exports) lives as long as the environment; a serving session creates and drops only the workgroup on it.
module "serving_namespace" {
  source = "../../modules/serving"

  name_prefix        = local.name_prefix
  create_workgroup   = false
  protect_data       = var.foundation.protect_data # prevent_destroy, as on the data buckets
  kms_key_arn        = module.iam_metadata.kms_key_arn
  gold_bucket_arn    = module.data_lake.bucket_arns["gold"]
  glue_database_name = module.iam_metadata.glue_database_names["gold"]
  tags               = local.tags
}
