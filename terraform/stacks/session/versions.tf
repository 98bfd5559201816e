terraform {
  required_version = ">= 1.11" # ephemeral and write-only values (the DMS source secret)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }

  # The rest comes from environments/<env>.session.backend.hcl and `-backend-config=bucket=...`
  # (edp.environments passes EDP_TF_STATE_BUCKET); the emulator's override file swaps in a local backend.
  backend "s3" {}
}
