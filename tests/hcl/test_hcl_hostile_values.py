"""HCL a pull request can contain that Terraform would reject, or that would stall a reader: a count
of a million or of 10^400, `pow(9, pow(9, 9))`, a regex that backtracks, a `\\ud800` escape, a list
attribute given a number. Each is an unknown with its reason or one input error naming file:line,
never a traceback, a hang or a guessed default. Found by mutating the corpus (issue 4 fuzzing).

Cases that used to hang run in a subprocess with a timeout, so a regression fails instead of
stalling the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tollgate.engine.errors import InputError
from tollgate.engine.hcl.reader import MAX_INSTANCES_PER_BLOCK, MAX_INSTANCES_PER_CONFIGURATION, read_hcl_requests
from tollgate.engine.model import ComputeRequest


def module(tmp_path: Path, text: str) -> str:
    (tmp_path / "main.tf").write_text(textwrap.dedent(text))
    return str(tmp_path)


def instances_with_count(tmp_path: Path, count: str) -> list[ComputeRequest]:
    return read_hcl_requests(module(tmp_path, f"""
        resource "aws_instance" "fleet" {{
          instance_type = "m5.large"
          count         = {count}
        }}
    """), [])


def check_in_subprocess(directory: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "tollgate.integrations.cli", "check", directory, "--format", "json", "--region-default", "us-east-1", "--fail-on", "never"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, TOLLGATE_NO_CACHE="1"),
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


# --- counts past what is expanded one by one -----------------------------------------------------


def test_a_count_at_the_limit_is_expanded(tmp_path: Path) -> None:
    requests = instances_with_count(tmp_path, str(MAX_INSTANCES_PER_BLOCK))
    assert len(requests) == MAX_INSTANCES_PER_BLOCK
    assert requests[-1].address == f"aws_instance.fleet[{MAX_INSTANCES_PER_BLOCK - 1}]"


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        ("1000000", "count = 1,000,000"),  # took minutes, one request at a time
        ("1e9", "count = 1,000,000,000"),  # MemoryError building range(1e9)
        ("99999999999999999999999", "count = 99,999,999,999,999,999,999,999"),  # OverflowError
    ],
)
def test_a_count_past_the_limit_is_one_request_of_unknown_quantity_saying_why(tmp_path: Path, count: str, shown: str) -> None:
    (request,) = instances_with_count(tmp_path, count)
    assert request.address == "aws_instance.fleet[*]"
    assert request.quantity.desired is None and "count" in request.unknowns
    assert any(f"{shown} is more than the {MAX_INSTANCES_PER_BLOCK:,} instances" in note for note in request.notes), request.notes


def test_a_for_each_past_the_limit_is_one_request_of_unknown_quantity_saying_why(tmp_path: Path) -> None:
    # toset() of 20,000 values was 2 x 10^8 comparisons (minutes) before the keys were even counted
    requests = read_hcl_requests(module(tmp_path, """
        resource "aws_instance" "fleet" {
          instance_type = "m5.large"
          for_each      = toset([for i in range(20000) : "node-${i}"])
        }
    """), [])
    (request,) = requests
    assert request.address == "aws_instance.fleet[*]" and "count" in request.unknowns
    assert any(f"for_each has 20,000 keys, more than the {MAX_INSTANCES_PER_BLOCK:,} instances" in note for note in request.notes), request.notes


def test_modules_multiplying_counts_stop_at_the_configuration_limit(tmp_path: Path) -> None:
    per_module = MAX_INSTANCES_PER_BLOCK
    modules = MAX_INSTANCES_PER_CONFIGURATION // per_module + 2
    (tmp_path / "child").mkdir()
    (tmp_path / "child" / "main.tf").write_text(f'resource "aws_instance" "w" {{\n  instance_type = "m5.large"\n  count = {per_module}\n}}\n')
    requests = read_hcl_requests(module(tmp_path, f"""
        module "pool" {{
          source = "./child"
          count  = {modules}
        }}
    """), [])
    expanded = [r for r in requests if not r.address.endswith("[*]")]
    capped = [r for r in requests if r.address.endswith("[*]")]
    assert len(expanded) <= MAX_INSTANCES_PER_CONFIGURATION
    assert capped, "the instances past the limit must be reported, not dropped"
    assert all("count" in r.unknowns for r in capped)
    assert any(f"past {MAX_INSTANCES_PER_CONFIGURATION:,} instances" in note for r in capped for note in r.notes)


# --- numbers and functions -------------------------------------------------------------------


@pytest.mark.parametrize(
    "count",
    [
        "pow(10, 400)",  # an int past float range: OverflowError where the count was checked
        '"${pow(10, 4300)}"',  # a 4,301-digit string
        "floor(pow(10.0, 400))",
        "1" * 5000,  # a literal too long for int()
    ],
)
def test_numbers_out_of_range_leave_the_count_unknown(tmp_path: Path, count: str) -> None:
    try:
        requests = instances_with_count(tmp_path, count)
    except InputError as error:  # the 5,000-digit literal: the parser's own limit, named
        assert "main.tf" in str(error)
        return
    (request,) = requests
    assert request.quantity.desired is None and "count" in request.unknowns


def test_pow_with_a_gigantic_result_is_refused_before_computing_it(tmp_path: Path) -> None:
    # 9 ** 387420489 is a 370-million-digit integer: minutes of CPU before this fix.
    directory = module(tmp_path, """
        resource "aws_instance" "fleet" {
          instance_type = "m5.large"
          count         = pow(9, pow(9, 9))
        }
    """)
    report = check_in_subprocess(directory)
    (resource,) = report["resources"]  # type: ignore[misc]
    assert "count" in resource["unknowns"]


def test_a_backtracking_regex_times_out_into_an_unknown(tmp_path: Path) -> None:
    # RE2 (Terraform) matches this in linear time; a backtracking engine takes longer than the
    # age of the universe on 40 characters. The match is stopped after REGEX_TIMEOUT.
    directory = module(tmp_path, """
        locals {
          name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"
        }
        resource "aws_instance" "fleet" {
          instance_type = "m5.large"
          count         = length(regexall("(a|aa)+$", local.name))
        }
    """)
    report = check_in_subprocess(directory)
    (resource,) = report["resources"]  # type: ignore[misc]
    assert "count" in resource["unknowns"]
    assert any("the pattern took longer than 1s" in note for note in resource["notes"]), resource["notes"]


def test_regex_functions_still_match_like_terraform(tmp_path: Path) -> None:
    requests = read_hcl_requests(module(tmp_path, """
        resource "aws_instance" "fleet" {
          instance_type = replace(regex("^(?P<family>[a-z0-9]+)", "m5-large")["family"], "/([0-9])/", "$1") == "m5" ? "m5.large" : "t3.micro"
          count         = length(regexall("[0-9]", "a1b2c3"))
        }
    """), [])
    assert [(r.instance_type, r.quantity.desired) for r in requests] == [("m5.large", 1)] * 3


# --- strings and types Terraform rejects ---------------------------------------------------------


def test_a_surrogate_escape_is_an_unknown_value_not_an_encoding_crash(tmp_path: Path) -> None:
    requests = read_hcl_requests(module(tmp_path, r"""
        resource "aws_instance" "x" {
          instance_type = "\ud800"
        }
    """), [])
    (request,) = requests
    assert request.instance_type is None and "instance_type" in request.unknowns


@pytest.mark.parametrize(
    ("resource", "attribute"),
    [
        ('resource "aws_eks_node_group" "n" {\n  cluster_name = "c"\n  instance_types = 5\n}\n', "instance_types"),
        ('resource "google_container_cluster" "c" {\n  location = "us-central1"\n  node_pool = 5\n}\n', "node_pool"),
        ('resource "google_compute_instance" "g" {\n  machine_type = "n1-standard-4"\n  zone = "us-central1-a"\n  guest_accelerator = "nvidia-tesla-t4"\n}\n', "guest_accelerator"),
        ('resource "aws_sagemaker_endpoint_configuration" "s" {\n  production_variants = "ml.g5.xlarge"\n}\n', "production_variants"),
    ],
)
def test_a_list_attribute_given_a_scalar_is_an_input_error_at_the_resource(tmp_path: Path, resource: str, attribute: str) -> None:
    # Before: TypeError tracebacks, or (instance_types) the EKS default t3.medium quietly assumed.
    directory = module(tmp_path, resource)
    with pytest.raises(InputError) as caught:
        read_hcl_requests(directory, [])
    assert str(caught.value).startswith(f"{tmp_path / 'main.tf'}:1: ")
    assert f"{attribute} must be a list, not a " in str(caught.value)
