"""The pre-commit hooks as a user runs them: `pre-commit try-repo` installs this repository's hooks
into a fresh environment (from the package registry) and runs them on a temporary git repository.
A change over budget is blocked; a clean one passes. Skips when pre-commit or git is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRE_COMMIT = shutil.which("pre-commit") or (str(Path(sys.executable).parent / "pre-commit") if (Path(sys.executable).parent / "pre-commit").exists() else None)
GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(not PRE_COMMIT or not GIT, reason="pre-commit or git is not installed")

POLICY = textwrap.dedent(
    """
    version: 1
    policies:
      - id: team-budget
        type: budget
        monthly_limit_usd: 5000
    """
)

TERRAFORM = textwrap.dedent(
    """
    provider "aws" {
      region = "us-east-1"
    }

    resource "aws_instance" "box" {
      ami           = "ami-0a1b2c3d4e5f60718"
      instance_type = "INSTANCE_TYPE"
    }
    """
)

MANIFEST = textwrap.dedent(
    """
    apiVersion: batch/v1
    kind: Job
    metadata:
      name: finetune
      annotations:
        tollgate.dev/expected-hours: "HOURS"
    spec:
      template:
        spec:
          nodeSelector:
            node.kubernetes.io/instance-type: p4d.24xlarge
          containers:
            - name: trainer
              image: trainer:1
              resources:
                limits:
                  nvidia.com/gpu: 8
          restartPolicy: Never
    """
)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One hook environment for the module: try-repo installs it once, the runs reuse it.
    return tmp_path_factory.mktemp("pre-commit-home")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run([GIT or "git", *args], cwd=cwd, check=True, capture_output=True)


def _user_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "dev@example.com")
    _git(root, "config", "user.name", "dev")
    for name, text in files.items():
        (root / name).write_text(text)
    _git(root, "add", "-A")
    return root


def _try_repo(user_repo: Path, hook: str, files: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [PRE_COMMIT or "pre-commit", "try-repo", str(REPO), hook, "--verbose", "--files", *files],
        cwd=user_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_terraform_hook_blocks_a_change_over_budget_and_passes_a_clean_one(tmp_path: Path, pre_commit_home: Path) -> None:
    costly = _user_repo(tmp_path / "costly", {"tollgate.yaml": POLICY, "main.tf": TERRAFORM.replace("INSTANCE_TYPE", "p5.48xlarge")})
    blocked = _try_repo(costly, "tollgate-terraform", ["main.tf"], pre_commit_home)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "team-budget" in blocked.stdout and "main.tf" in blocked.stdout

    cheap = _user_repo(tmp_path / "cheap", {"tollgate.yaml": POLICY, "main.tf": TERRAFORM.replace("INSTANCE_TYPE", "t3.micro")})
    passed = _try_repo(cheap, "tollgate-terraform", ["main.tf"], pre_commit_home)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_kubernetes_hook_blocks_a_costly_job_and_ignores_other_yaml(tmp_path: Path, pre_commit_home: Path) -> None:
    workflow = "name: ci\non: [push]\njobs: {}\n"
    costly = _user_repo(
        tmp_path / "costly",
        {
            "tollgate.yaml": POLICY.replace("monthly_limit_usd: 5000", "monthly_limit_usd: 500")
            + "cluster:\n  provider: aws\n  region: us-east-1\n",
            "job.yaml": MANIFEST.replace("HOURS", "100"),
            "ci.yml": workflow,
        },
    )
    blocked = _try_repo(costly, "tollgate-kubernetes", ["job.yaml", "ci.yml"], pre_commit_home)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "team-budget" in blocked.stdout

    cheap = _user_repo(
        tmp_path / "cheap",
        {
            "tollgate.yaml": POLICY + "cluster:\n  provider: aws\n  region: us-east-1\n",
            "job.yaml": MANIFEST.replace("HOURS", "1"),
            "ci.yml": workflow,
        },
    )
    passed = _try_repo(cheap, "tollgate-kubernetes", ["job.yaml", "ci.yml"], pre_commit_home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
