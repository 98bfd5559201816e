# dev: where main lands (CI applies the foundation on every merge); small and on a schedule.
environment = "dev"
region      = "eu-central-1"

foundation = {
  azs              = ["eu-central-1a", "eu-central-1b"]
  cidr_block       = "10.20.0.0/16"
  glue_workers     = 2
  schedule_enabled = true
  enable_mwaa      = false
  mwaa             = { environment_class = "mw1.small", max_workers = 2 }
  github = {
    repository      = "edp-platform/edp"
    plan_subjects   = ["pull_request"]        # pull requests plan dev
    deploy_subjects = ["ref:refs/heads/main"] # main applies it
  }
}

session = {
  ttl_hours              = 8
  db_instance_class      = "db.t4g.medium"
  dms_instance_class     = "dms.t3.medium"
  redshift_base_capacity = 8
}
