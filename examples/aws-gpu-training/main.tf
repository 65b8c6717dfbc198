# A GPU training platform change: an on-demand A100 node group for training, a mostly-spot
# inference group behind a launch template, and a Europe replica through a provider alias.

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
  default_tags {
    tags = { managed-by = "terraform" }
  }
}

provider "aws" {
  alias                       = "eu"
  region                      = "eu-west-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

variable "trainer_count" {
  type    = number
  default = 2
}

resource "aws_iam_role" "nodes" {
  name = "ml-nodes"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ec2.amazonaws.com" } }]
  })
}

# Training runs on demand: 2 x p4d.24xlarge = 16 A100s.
resource "aws_eks_node_group" "a100_training" {
  cluster_name    = "ml-platform"
  node_group_name = "a100-training"
  node_role_arn   = aws_iam_role.nodes.arn
  subnet_ids      = ["subnet-0a1b2c3d4e5f60718"]
  instance_types  = ["p4d.24xlarge"]
  capacity_type   = "ON_DEMAND"

  scaling_config {
    desired_size = var.trainer_count
    min_size     = 0
    max_size     = 4
  }

  labels = { "workload-class" = "training" }
  tags = {
    team             = "ml"
    "cost-center"    = "CC-4100"
    "workload-class" = "batch"
  }
}

resource "aws_launch_template" "inference" {
  name          = "llm-inference"
  image_id      = "ami-0a1b2c3d4e5f60718"
  instance_type = "g5.2xlarge"
  tag_specifications {
    resource_type = "instance"
    tags = {
      team             = "ml"
      "cost-center"    = "CC-4100"
      "workload-class" = "online"
    }
  }
}

# Inference: 1 on-demand base + 25% on-demand above it, the rest spot.
resource "aws_autoscaling_group" "inference" {
  name                = "llm-inference"
  desired_capacity    = 8
  min_size            = 2
  max_size            = 16
  vpc_zone_identifier = ["subnet-0a1b2c3d4e5f60718"]

  mixed_instances_policy {
    instances_distribution {
      on_demand_base_capacity                  = 1
      on_demand_percentage_above_base_capacity = 25
      spot_allocation_strategy                 = "price-capacity-optimized"
    }
    launch_template {
      launch_template_specification {
        launch_template_id = aws_launch_template.inference.id
        version            = "$Latest"
      }
      override { instance_type = "g5.2xlarge" }
      override { instance_type = "g5.4xlarge" }
    }
  }
}

# A replica in Europe through the aliased provider; tagged without cost-center.
resource "aws_instance" "eu_replica" {
  provider      = aws.eu
  ami           = "ami-0a1b2c3d4e5f60718"
  instance_type = "g5.12xlarge"
  tags = {
    team             = "ml"
    "workload-class" = "online"
  }
}

# SageMaker instance types are not EC2: priced only from a named SageMaker source.
resource "aws_sagemaker_notebook_instance" "research" {
  name          = "ml-research"
  role_arn      = aws_iam_role.nodes.arn
  instance_type = "ml.g5.xlarge"
}
