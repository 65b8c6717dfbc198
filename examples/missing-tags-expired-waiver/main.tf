# A batch cluster for the vision team. Some instances miss their cost-allocation tags; one is
# waived inline, one by a central exception that has since expired.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region                      = "eu-west-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

resource "aws_instance" "worker" {
  count         = 3
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "g5.2xlarge"
  instance_market_options {
    market_type = "spot"
  }
  tags = {
    team             = "vision"
    "cost-center"    = "CC-2290"
    "workload-class" = "batch"
  }
}

resource "aws_instance" "legacy_scheduler" {
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "m5.xlarge"
  tags = {
    team = "vision"
  }
}

resource "aws_instance" "notebook" {
  # tollgate:ignore cost-allocation-tags personal research box, billed to the team by its owner tag
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "g4dn.xlarge"
  tags = {
    owner = "dana@example.com"
  }
}
