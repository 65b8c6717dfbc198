"""Terraform HCL without a plan: the pre-commit path. See reader.read_hcl_requests."""
