terraform {
  # 1.6 is the oldest release whose validation, precondition and `check` semantics this
  # module relies on.
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
