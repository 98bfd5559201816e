terraform {
  required_version = ">= 1.11" # write-only arguments and ephemeral resources

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.88, < 6.0" # 5.88: secret_string_wo
    }
  }
}
