# An inference platform change read without a plan: an on-demand A100 node group of four
# p4d.24xlarge (8 GPUs each) for a model server whose six replicas ask for 2 GPUs each
# (k8s/model-server.yaml). Tollgate links the pods to the group by its node group name and
# suggests the nodes they need.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

variable "a100_nodes" {
  description = "A100 nodes in the inference group"
  type        = number
  default     = 4
}

resource "aws_eks_node_group" "a100" {
  cluster_name    = "inference"
  node_group_name = "a100"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-0a1b2c3d4e5f60718"]
  instance_types  = ["p4d.24xlarge"]
  capacity_type   = "ON_DEMAND"

  labels = {
    workload = "inference"
  }

  scaling_config {
    desired_size = var.a100_nodes
    min_size     = 1
    max_size     = 8
  }

  tags = {
    team        = "ml-platform"
    cost-center = "CC-4410"
  }
}
