locals {
  tags = merge({ "edp:module" = "ingestion", "edp:session" = var.session_id }, var.tags)

  # the Bronze layout edp.dms_format reproduces locally (TIMESTAMP_COLUMN, SEQ_COLUMN)
  timestamp_column = "dms_timestamp"
  seq_column       = "dms_change_seq"
  # BEFORE_IMAGE_PREFIX: the key before an update, on CDC rows
  before_image_prefix = "BI_"

  # the caller's DMS-shaped secret, or the module's own copy of the RDS-managed one (main.tf)
  source_secret_arn = coalesce(var.source_secret_arn, one(aws_secretsmanager_secret.dms_source[*].arn))

  selection_rules = length(var.tables) > 0 ? [
    for i, table in var.tables : {
      rule-type      = "selection"
      rule-id        = tostring(i + 1)
      rule-name      = "include-${table}"
      object-locator = { schema-name = var.schema, table-name = table }
      rule-action    = "include"
    }
    ] : [
    {
      rule-type      = "selection"
      rule-id        = "1"
      rule-name      = "include-schema"
      object-locator = { schema-name = var.schema, table-name = "%" }
      rule-action    = "include"
    },
    {
      rule-type      = "selection"
      rule-id        = "2"
      rule-name      = "exclude-dms-artifacts"
      object-locator = { schema-name = var.schema, table-name = "awsdms%" }
      rule-action    = "exclude"
    },
  ]

  table_mappings = jsonencode({
    rules = concat(local.selection_rules, [
      {
        # a merge orders changes by commit LSN + position in the transaction, then by timestamp
        rule-type      = "transformation"
        rule-id        = tostring(length(local.selection_rules) + 1)
        rule-name      = "add-change-seq"
        rule-target    = "column"
        object-locator = { schema-name = var.schema, table-name = "%" }
        rule-action    = "add-column"
        value          = local.seq_column
        expression     = "$AR_H_CHANGE_SEQ"
        data-type      = { type = "string", length = 50 }
      },
      {
        # an update that changes a primary key is one U row under the new key: BI_<key> holds the old
        # one, which the merge deletes (the local DMS stand-in writes the same columns)
        rule-type        = "transformation"
        rule-id          = tostring(length(local.selection_rules) + 2)
        rule-name        = "add-key-before-image"
        rule-target      = "column"
        object-locator   = { schema-name = var.schema, table-name = "%" }
        rule-action      = "add-before-image-columns"
        before-image-def = { column-prefix = local.before_image_prefix, column-suffix = "", column-filter = "pk-only" }
      },
    ])
  })

  task_settings = jsonencode({
    TargetMetadata = {
      TargetSchema       = ""
      SupportLobs        = true
      FullLobMode        = true # large values whole, read from the source by key (limited mode cuts them)
      LobChunkSize       = 64
      LimitedSizeLobMode = false
      LobMaxSize         = 0
      BatchApplyEnabled  = false
    }
    FullLoadSettings = {
      # never delete Bronze objects: a reload's old generation is archived by the pipeline, as locally
      TargetTablePrepMode             = "DO_NOTHING"
      CreatePkAfterFullLoad           = false
      StopTaskCachedChangesApplied    = false
      StopTaskCachedChangesNotApplied = false
      MaxFullLoadSubTasks             = 8
      TransactionConsistencyTimeout   = 600
      CommitRate                      = 10000
    }
    Logging = {
      EnableLogging = true
      LogComponents = [
        for component in ["SOURCE_UNLOAD", "SOURCE_CAPTURE", "TARGET_LOAD", "TARGET_APPLY", "TASK_MANAGER"] :
        { Id = component, Severity = "LOGGER_SEVERITY_DEFAULT" }
      ]
    }
    ChangeProcessingTuning = {
      BatchApplyPreserveTransaction = true
      BatchApplyTimeoutMin          = 1
      BatchApplyTimeoutMax          = 30
      BatchApplyMemoryLimit         = 500
      BatchSplitSize                = 0
      MinTransactionSize            = 1000
      CommitTimeout                 = 1
      MemoryLimitTotal              = 1024
      MemoryKeepTime                = 60
      StatementCacheSize            = 50
    }
  })
}
