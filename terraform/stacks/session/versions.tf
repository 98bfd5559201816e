terraform {
  required_version = ">= 1.11" # ephemeral and write-only values (the DMS source secret)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 6.0"
    }
  }
}
