# staging: what a release/* branch deploys, sized like prod's smaller sibling.
environment = "staging"
region      = "eu-central-1"

foundation = {
  azs              = ["eu-central-1a", "eu-central-1b"]
  cidr_block       = "10.30.0.0/16"
  glue_workers     = 4
  schedule_enabled = false
  enable_mwaa      = true
  mwaa             = { environment_class = "mw1.small", max_workers = 4 }
  github = {
    repository      = "edp-platform/edp"
    deploy_subjects = ["ref:refs/heads/release/*"]
    create_provider = false # one OIDC provider per account: dev's creates it where they share one
  }
}

session = {
  ttl_hours              = 8
  db_instance_class      = "db.t4g.large"
  dms_instance_class     = "dms.t3.large"
  redshift_base_capacity = 16
}
