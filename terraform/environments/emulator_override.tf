# The emulator environment's provider and backend settings, the one place they live. edp.environments
# copies this file into a private working copy of a root (a stack, or a module example in the tests) that
# runs against the local AWS emulator, and points the provider at it with AWS_ENDPOINT_URL; roots run
# for AWS never see it. Terraform merges *_override.tf files over the root's own blocks.
terraform {
  backend "local" {}
}

provider "aws" {
  access_key                  = "emulator"
  secret_key                  = "emulator"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
}
