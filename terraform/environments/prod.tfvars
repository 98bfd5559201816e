# prod: what a v* tag deploys, behind the GitHub environment `prod` and its required reviewers.
environment = "prod"
region      = "eu-central-1"

foundation = {
  azs              = ["eu-central-1a", "eu-central-1b"]
  cidr_block       = "10.40.0.0/16"
  glue_workers     = 10
  schedule_enabled = false
  enable_mwaa      = true
  mwaa             = { environment_class = "mw1.medium", max_workers = 10 }
  github = {
    repository = "edp-platform/edp"
    # only jobs bound to the reviewed GitHub environment may assume the prod deploy role
    deploy_subjects = ["environment:prod"]
  }
}

session = {
  ttl_hours              = 24
  db_instance_class      = "db.r6g.large"
  dms_instance_class     = "dms.c5.large"
  redshift_base_capacity = 32
}
