# Two on-demand H100 boxes for a training run, and the GPU node group that serves the result.
# The ML team's budget is $50,000/month: this change alone is over it.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

resource "aws_instance" "trainer" {
  count         = 2
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "p5.48xlarge"
  tags = {
    team             = "ml"
    "cost-center"    = "CC-4100"
    "workload-class" = "training"
  }
}

resource "aws_eks_node_group" "serving" {
  cluster_name    = "ml-platform"
  node_group_name = "llm-serving"
  node_role_arn   = "arn:aws:iam::123456789012:role/ml-nodes"
  subnet_ids      = ["subnet-0a1b2c3d4e5f60718"]
  instance_types  = ["g5.12xlarge"]
  capacity_type   = "ON_DEMAND"
  scaling_config {
    desired_size = 2
    min_size     = 2
    max_size     = 10
  }
  tags = {
    team             = "ml"
    "cost-center"    = "CC-4100"
    "workload-class" = "online"
  }
}
