"""A plan made by real Terraform (1.x with hashicorp/aws from a local filesystem mirror, offline,
fake credentials) is read as the configuration says. Skips when Terraform or the mirror is absent."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tollgate.engine.check import run_check
from tollgate.engine.model import PurchaseOption
from tollgate.providers.bundled import BundledCatalog


def _aws_provider_mirror() -> str | None:
    """The directory holding registry.terraform.io/hashicorp/aws/<version>/linux_amd64."""
    candidates = [os.environ.get("TOLLGATE_TF_MIRROR", ""), "/opt/tf-plugins", os.path.expanduser("~/.terraform.d/plugins")]
    for root in candidates:
        if root and glob.glob(os.path.join(root, "registry.terraform.io/hashicorp/aws/*/linux_amd64")):
            return root
    return None


TERRAFORM = shutil.which("terraform")
MIRROR = _aws_provider_mirror()
pytestmark = pytest.mark.skipif(not TERRAFORM or not MIRROR, reason="terraform with a local hashicorp/aws mirror is not available")

CONFIG = textwrap.dedent(
    """
    terraform {
      required_providers {
        aws = { source = "hashicorp/aws", version = "VERSION" }
      }
    }
    provider "aws" {
      region                      = var.region
      skip_credentials_validation = true
      skip_requesting_account_id  = true
      skip_metadata_api_check     = true
      skip_region_validation      = true
    }
    variable "region" { default = "us-west-2" }

    resource "aws_instance" "trainer" {
      count         = 2
      ami           = "ami-0a1b2c3d4e5f60718"
      instance_type = "g5.2xlarge"
      instance_market_options {
        market_type = "spot"
      }
      tags = { team = "ml", "workload-class" = "training" }
    }

    resource "aws_launch_template" "serve" {
      name          = "serve"
      image_id      = "ami-0a1b2c3d4e5f60718"
      instance_type = "g5.xlarge"
    }

    resource "aws_autoscaling_group" "serve" {
      min_size            = 1
      max_size            = 4
      vpc_zone_identifier = ["subnet-0a1b2c3d4e5f60718"]
      launch_template {
        id      = aws_launch_template.serve.id
        version = "$Latest"
      }
    }
    """
)


def test_real_terraform_plan_is_read_as_configured(tmp_path: Path) -> None:
    assert MIRROR is not None and TERRAFORM is not None
    version = sorted(os.listdir(os.path.join(MIRROR, "registry.terraform.io/hashicorp/aws")))[-1]
    (tmp_path / "main.tf").write_text(CONFIG.replace("VERSION", version))
    (tmp_path / "cli.tfrc").write_text(
        'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' % MIRROR
    )
    env = dict(
        os.environ,
        TF_CLI_CONFIG_FILE=str(tmp_path / "cli.tfrc"),
        AWS_ACCESS_KEY_ID="AKIAFAKEFAKEFAKEFAKE",
        AWS_SECRET_ACCESS_KEY="fake",
        TF_IN_AUTOMATION="1",
        CHECKPOINT_DISABLE="1",
    )
    for command in (["init", "-input=false"], ["plan", "-input=false", "-out", "plan.out"]):
        result = subprocess.run([TERRAFORM, *command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    shown = subprocess.run([TERRAFORM, "show", "-json", "plan.out"], cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    (tmp_path / "plan.json").write_bytes(shown.stdout)

    report = run_check([str(tmp_path / "plan.json")], BundledCatalog())
    by_address = {item.request.address: item for item in report.resources}
    assert sorted(by_address) == ["aws_autoscaling_group.serve", "aws_instance.trainer[0]", "aws_instance.trainer[1]"]

    trainer = by_address["aws_instance.trainer[0]"]
    assert trainer.request.region == "us-west-2"  # from the root variable's default
    assert trainer.request.purchase_option is PurchaseOption.SPOT
    block_line = CONFIG.splitlines().index('resource "aws_instance" "trainer" {') + 1
    assert trainer.request.source.file.endswith("main.tf") and trainer.request.source.line == block_line

    group = by_address["aws_autoscaling_group.serve"]
    assert group.request.instance_type == "g5.xlarge"  # through the configuration reference
    assert (group.request.quantity.desired, group.request.quantity.min, group.request.quantity.max) == (1, 1, 4)
    assert group.request.purchase_option is PurchaseOption.ON_DEMAND
    assert group.after.hourly is not None and group.after.hourly.nanos > 0
