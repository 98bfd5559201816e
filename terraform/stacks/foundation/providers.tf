provider "aws" {
  region = var.region

  default_tags {
    tags = { "edp:environment" = var.environment, "edp:managed-by" = "terraform" }
  }
}
