"""read_hcl_requests on small module directories (tests/hcl/fixtures/<expected outcome>/):
variables, tfvars and --var-file, locals, interpolation, conditionals, count/for_each, dynamic
blocks, references between resources, local modules with inputs, registry modules with their
documented defaults, unknowns reported with their reasons, inline waivers, and file:line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tollgate.engine.errors import InputError
from tollgate.engine.hcl.reader import read_hcl_requests
from tollgate.engine.model import ComputeRequest, PurchaseMix, PurchaseOption, Quantity, WorkloadClass

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def read(name: str, var_files: tuple[str, ...] = ()) -> dict[str, ComputeRequest]:
    found: dict[str, ComputeRequest] = {}
    for request in read_hcl_requests(str(FIXTURES / name), [str(FIXTURES / name / v) for v in var_files]):
        key = request.address + (f" {request.component}" if request.component else "")
        assert key not in found, f"{key} twice"
        found[key] = request
    return found


def shape(request: ComputeRequest) -> tuple[object, ...]:
    return (request.instance_type, request.quantity.desired, request.quantity.min, request.quantity.max, request.purchase_option)


def write(tmp_path: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return str(tmp_path)


# --- variables, tfvars, locals, expressions ----------------------------------------------------
def test_variables_defaults_tfvars_and_auto_tfvars_apply_in_terraform_order() -> None:
    found = read("variables_and_tfvars_give_m5_xlarge_x3")
    assert sorted(found) == ["aws_instance.app[0]", "aws_instance.app[1]", "aws_instance.app[2]"]
    for request in found.values():
        assert request.instance_type == "m5.xlarge"  # b.auto.tfvars beats terraform.tfvars beats the default
        assert request.region == "eu-west-1" and request.region_source == "provider configuration"
        assert request.tags == {"team": "ml", "cost-center": "CC-1234"}
        assert request.unknowns == []


def test_var_files_apply_after_the_automatic_ones() -> None:
    found = read("variables_and_tfvars_give_m5_xlarge_x3", ("prod.tfvars",))
    assert {r.instance_type for r in found.values()} == {"m5.2xlarge"}
    assert len(found) == 3


def test_a_missing_var_file_is_an_input_error() -> None:
    with pytest.raises(InputError, match="nope.tfvars: no such file"):
        read("variables_and_tfvars_give_m5_xlarge_x3", ("nope.tfvars",))


def test_locals_interpolation_functions_and_conditionals() -> None:
    found = read("locals_interpolation_conditionals")
    api = found["aws_instance.api"]
    assert api.instance_type == "c6i.xlarge"  # "${local.family}.${local.size}", size from a conditional
    assert api.tags == {"team": "web", "workload-class": "online", "Name": "API-PROD"}
    assert api.workload_class is WorkloadClass.ONLINE
    trainer = found["google_compute_instance.trainer"]
    assert (trainer.instance_type, trainer.zone, trainer.region) == ("n1-standard-8", "us-central1-b", "us-central1")
    assert trainer.purchase_option is PurchaseOption.SPOT
    assert [(a.type, a.count) for a in trainer.accelerators] == [("nvidia-tesla-t4", 2)]
    assert trainer.workload_class is WorkloadClass.BATCH


def test_count_for_each_for_expressions_and_dynamic_blocks() -> None:
    found = read("count_and_for_each")
    assert sorted(found) == [
        "aws_instance.by_count[0]",
        "aws_instance.by_count[1]",
        'aws_instance.by_for["alpha"]',
        'aws_instance.by_for["gamma"]',
        'aws_instance.by_map["big"]',
        'aws_instance.by_map["small"]',
        'aws_instance.by_set["blue"]',
        'aws_instance.by_set["green"]',
        "aws_instance.gpu_dynamic_spot[0]",
        "aws_instance.gpu_dynamic_spot[1]",
    ]  # count = 0 creates nothing
    assert found["aws_instance.by_count[1]"].tags == {"Name": "by-count-2"}
    assert found['aws_instance.by_set["blue"]'].instance_type == "m5.large"
    assert found['aws_instance.by_set["green"]'].instance_type == "m5.xlarge"
    assert found['aws_instance.by_map["big"]'].instance_type == "t3.2xlarge"
    assert found['aws_instance.by_for["gamma"]'].instance_type == "c6i.2xlarge"
    dynamic = found["aws_instance.gpu_dynamic_spot[0]"]
    assert dynamic.purchase_option is PurchaseOption.SPOT
    assert dynamic.purchase_reason == "instance_market_options.market_type = spot"


def test_references_to_other_resources_configured_attributes_resolve() -> None:
    found = read("resource_references_resolve")
    vm = found["azurerm_linux_virtual_machine.vm"]
    assert (vm.region, vm.instance_type) == ("westeurope", "Standard_D4s_v5")
    assert vm.tags == {"team": "ml", "owner": "rg-ml"}
    cluster = found["azurerm_kubernetes_cluster.aks default_node_pool system"]
    assert shape(cluster) == ("Standard_D2s_v5", 3, None, None, PurchaseOption.ON_DEMAND)
    # the pool's location comes through the cluster id's configuration reference, as for plans
    pool = found["azurerm_kubernetes_cluster_node_pool.gpu_spot"]
    assert (pool.region, pool.region_source) == ("westeurope", "location of azurerm_kubernetes_cluster.aks")
    assert shape(pool) == ("Standard_NC4as_T4_v3", 2, None, None, PurchaseOption.SPOT)
    # the ASG's launch template id is unknown until apply: linked through the reference
    group = found["aws_autoscaling_group.inference"]
    assert shape(group) == ("g5.xlarge", 1, 1, 4, PurchaseOption.ON_DEMAND)
    assert group.tags == {"team": "inference"}
    assert "desired_capacity not set: AWS starts the group at min_size" in group.notes


# --- modules -----------------------------------------------------------------------------------
def test_local_modules_with_inputs_count_for_each_provider_aliases_and_outputs() -> None:
    found = read("local_module_with_inputs")
    assert sorted(found) == [
        "aws_instance.sidecar[0]",
        "aws_instance.sidecar[1]",  # count = module.cpu[0].node_count * 2
        'module.cpu[0].aws_instance.node[0]',
        'module.eu.aws_instance.node[0]',
        'module.gpu["a"].aws_instance.node[0]',
        'module.gpu["b"].aws_instance.node[0]',
        'module.gpu["b"].aws_instance.node[1]',
    ]
    gpu = found['module.gpu["b"].aws_instance.node[1]']
    assert (gpu.instance_type, gpu.region) == ("g5.xlarge", "us-west-2")
    assert gpu.tags == {"team": "ml", "workload-class": "batch", "Name": "gpu-b-1"}
    assert gpu.source.file.endswith("modules/worker/main.tf") and gpu.source.line == 19
    assert found["module.eu.aws_instance.node[0]"].region == "eu-west-1"  # providers = { aws = aws.eu }
    assert found["module.cpu[0].aws_instance.node[0]"].instance_type == "c6i.large"


def test_terraform_aws_modules_eks_v20_node_groups_with_module_defaults() -> None:
    found = read("registry_eks_v20_defaults")
    prefix = "module.eks.module."
    default = found[prefix + 'eks_managed_node_group["default"].aws_eks_node_group.this[0]']
    # the module's 1/3/1 and, with instance_types unset, the EKS API default t3.medium
    assert shape(default) == ("t3.medium", 1, 1, 3, PurchaseOption.ON_DEMAND)
    assert "instance_types not set: EKS default t3.medium" in default.notes
    assert any("desired_size not set: module default 1" in n for n in default.notes)
    assert default.tags == {"team": "platform"}
    gpu = found[prefix + 'eks_managed_node_group["gpu"].aws_eks_node_group.this[0]']
    assert shape(gpu) == ("g5.2xlarge", 2, 0, 4, PurchaseOption.SPOT)
    assert gpu.instance_types == ("g5.2xlarge", "g5.4xlarge")
    assert gpu.workload_class is WorkloadClass.BATCH  # from the group's labels
    plain = found[prefix + 'self_managed_node_group["plain"].aws_autoscaling_group.this[0]']
    assert shape(plain) == ("m6i.large", 1, 0, 3, PurchaseOption.ON_DEMAND)  # v20 self-managed defaults
    mixed = found[prefix + 'self_managed_node_group["mixed"].aws_autoscaling_group.this[0]']
    assert shape(mixed) == ("c6i.xlarge", 4, 2, 10, PurchaseOption.SPOT)
    assert mixed.purchase_mix == PurchaseMix(on_demand=1, spot=3)
    assert mixed.instance_types == ("c6i.xlarge", "c5.xlarge")
    assert not any("disabled" in address for address in found)  # create = false
    standalone = found["module.standalone.aws_eks_node_group.this[0]"]
    assert shape(standalone) == ("m6i.xlarge", 1, 0, 3, PurchaseOption.ON_DEMAND)  # submodule defaults 0/3/1
    assert len(found) == 5


def test_terraform_google_modules_gke_node_pools_with_module_defaults() -> None:
    found = read("registry_gke_node_pools_defaults")
    assert sorted(found) == [
        'module.gke.google_container_node_pool.pools["default-pool"]',
        'module.gke.google_container_node_pool.pools["t4-spot"]',
    ]  # the autopilot module creates no nodes
    default = found['module.gke.google_container_node_pool.pools["default-pool"]']
    # e2-medium, autoscaling 1..100 per zone, starting at min_count, in each of the 2 zones
    assert shape(default) == ("e2-medium", 2, 2, 200, PurchaseOption.ON_DEMAND)
    assert default.region == "us-central1"
    assert default.source.line == 15
    gpu = found['module.gke.google_container_node_pool.pools["t4-spot"]']
    assert shape(gpu) == ("n1-standard-8", 2, None, None, PurchaseOption.SPOT)
    assert [(a.type, a.count) for a in gpu.accelerators] == [("nvidia-tesla-t4", 2)]
    assert gpu.workload_class is WorkloadClass.BATCH  # node_pools_labels
    assert gpu.tags["team"] == "ml"


def test_azure_aks_module_default_pool_and_node_pools_with_module_defaults() -> None:
    found = read("registry_aks_defaults")
    default = found["module.aks.azurerm_kubernetes_cluster.main default_node_pool nodepool"]
    assert shape(default) == ("Standard_D2s_v3", 2, None, None, PurchaseOption.ON_DEMAND)
    assert default.region == "eastus"
    assert default.source.line == 5
    gpu = found['module.aks.azurerm_kubernetes_cluster_node_pool.node_pool_create_before_destroy["gpu"]']
    assert shape(gpu) == ("Standard_NC4as_T4_v3", 1, None, None, PurchaseOption.SPOT)
    assert (gpu.region, gpu.source.line) == ("eastus", 14)
    batch = found['module.aks.azurerm_kubernetes_cluster_node_pool.node_pool_create_before_destroy["batch"]']
    assert shape(batch) == ("Standard_D8s_v5", 0, 0, 20, PurchaseOption.ON_DEMAND)


def test_a_local_module_that_is_not_there_is_read_by_its_known_inputs(tmp_path: Path) -> None:
    directory = write(tmp_path / "root", {
        "main.tf": """
            provider "aws" {
              region = "us-east-1"
            }
            module "eks" {
              source             = "../../vendored/terraform-aws-eks"
              name               = "ml"
              kubernetes_version = "1.33"
              self_managed_node_groups = {
                workers = {}
              }
            }
            module "vpc" {
              source = "./missing"
              cidr   = "10.0.0.0/16"
            }
        """,
    })
    (request,) = read_hcl_requests(directory)
    assert request.address == 'module.eks.module.self_managed_node_group["workers"].aws_autoscaling_group.this[0]'
    assert shape(request) == ("m6i.large", 1, 1, 3, PurchaseOption.ON_DEMAND)  # v21 defaults, from the input names
    assert any("has no .tf files here" in note for note in request.notes)


def test_a_registry_map_that_is_unknown_is_one_request_of_unknown_size(tmp_path: Path) -> None:
    directory = write(tmp_path, {
        "main.tf": """
            variable "groups" {}
            module "eks" {
              source                  = "terraform-aws-modules/eks/aws"
              version                 = "~> 20.0"
              eks_managed_node_groups = var.groups
            }
        """,
    })
    (request,) = read_hcl_requests(directory)
    assert request.address == "module.eks.module.eks_managed_node_group[*].aws_eks_node_group.this"
    assert request.quantity == Quantity(desired=None)
    assert "count" in request.unknowns


# --- unknowns ----------------------------------------------------------------------------------
def test_what_needs_a_plan_is_unknown_with_the_reason() -> None:
    found = read("unknown_data_source_and_count")
    from_data = found["aws_instance.from_data"]
    assert from_data.instance_type is None and from_data.unknowns == ["instance_type"]
    assert any("data.aws_ec2_instance_type_offerings.gpu" in n for n in from_data.notes)
    counted = found["aws_instance.counted[*]"]
    assert counted.instance_type == "g5.xlarge"
    assert counted.quantity == Quantity(desired=None)
    assert "count" in counted.unknowns
    assert any("var.gpu_workers has no value" in n for n in counted.notes)
    group = found["aws_autoscaling_group.batch"]
    assert shape(group) == ("c6i.2xlarge", 2, 2, 8, PurchaseOption.ON_DEMAND)  # linked by name; desired = min


def test_an_unknown_gke_location_makes_per_zone_counts_unknown(tmp_path: Path) -> None:
    directory = write(tmp_path, {
        "main.tf": """
            variable "region" {}
            resource "google_container_cluster" "c" {
              name               = "c"
              location           = var.region
              initial_node_count = 2
            }
        """,
    })
    (request,) = read_hcl_requests(directory)
    assert request.quantity.desired is None  # zonal: 2 nodes, regional: 6; the location decides
    assert "node_count" in request.unknowns and "region" in request.unknowns
    assert any("var.region has no value" in n for n in request.notes)


def test_type_constraint_defaults_and_template_directives() -> None:
    found = read("type_defaults_and_directives")
    general = found['google_container_node_pool.pool["general"]']
    assert shape(general) == ("n2-standard-4", 1, None, None, PurchaseOption.ON_DEMAND)  # optional() default
    burst = found['google_container_node_pool.pool["burst"]']
    assert shape(burst) == ("c2-standard-8", 3, None, None, PurchaseOption.SPOT)  # "3" -> 3 by the type
    assert burst.region == "europe-west4"  # from the cluster's zone through the reference


def test_tag_values_only_a_plan_knows_are_not_read_as_empty(tmp_path: Path) -> None:
    directory = write(tmp_path, {
        "main.tf": """
            variable "owner" {}
            resource "aws_instance" "a" {
              ami           = "ami-1"
              instance_type = "t3.micro"
              tags          = { team = "ml", owner = var.owner }
            }
        """,
    })
    (request,) = read_hcl_requests(directory)
    assert request.tags_known is False
    assert "tags" in request.unknowns
    assert any("tag values unknown without a plan: owner" in n for n in request.notes)


# --- locations and waivers ---------------------------------------------------------------------
def test_inline_waivers_and_file_lines() -> None:
    found = read("waivers_and_lines")
    trainer = found["aws_instance.trainer"]
    assert trainer.source.file.endswith("waivers_and_lines/compute.tf") and trainer.source.line == 5
    (waiver,) = trainer.waivers
    assert (waiver.policy_id, waiver.reason, waiver.line) == ("gpu-types", "reserved capacity CR-42 until the H100 migration", 6)
    plain = found["aws_instance.plain"]
    assert plain.source.line == 12 and plain.waivers == ()  # a comment outside the block waives nothing
    cpu = found['module.eks.module.eks_managed_node_group["cpu"].aws_eks_node_group.this[0]']
    gpu = found['module.eks.module.eks_managed_node_group["gpu"].aws_eks_node_group.this[0]']
    assert (cpu.source.line, gpu.source.line) == (24, 27)  # the entry inside the module block
    assert [w.policy_id for w in cpu.waivers] == ["cost-tags"]  # module-wide
    assert [w.policy_id for w in gpu.waivers] == ["cost-tags", "gpu-types"]  # module-wide + its own
    assert gpu.waivers[1].reason == "approved in ticket OPS-7"


def test_waivers_reach_the_findings_through_run_check(catalog) -> None:  # type: ignore[no-untyped-def]
    from tollgate.engine.check import CheckOptions, run_check
    from tollgate.engine.config_loader import compose, parse_policy_file

    policy = parse_policy_file("tollgate.yaml", "version: 1\npolicies:\n  - {id: gpu-types, type: instance_type, deny: ['p4d.*']}\n")
    report = run_check([str(FIXTURES / "waivers_and_lines")], catalog, CheckOptions(config=compose(policy, "tollgate.yaml")))
    by_address = {f.address: f for f in report.findings if f.policy_id == "gpu-types"}
    assert by_address["aws_instance.trainer"].waived
    assert not by_address["aws_instance.plain"].waived
    assert by_address['module.eks.module.eks_managed_node_group["gpu"].aws_eks_node_group.this[0]'].waived


# --- errors and edges --------------------------------------------------------------------------
def test_invalid_hcl_is_an_input_error_naming_the_file_and_line(tmp_path: Path) -> None:
    directory = write(tmp_path, {"main.tf": 'resource "aws_instance" "broken" {\n  instance_type = \n}\n'})
    with pytest.raises(InputError) as error:
        read_hcl_requests(directory)
    assert str(error.value).startswith(f"{tmp_path / 'main.tf'}: is not valid HCL at line 2")


def test_a_directory_without_tf_files_reads_nothing(tmp_path: Path) -> None:
    (tmp_path / "only.tfvars").write_text('a = "b"\n')
    assert read_hcl_requests(str(tmp_path)) == []
    with pytest.raises(InputError, match="is not a directory"):
        read_hcl_requests(str(tmp_path / "nope"))


def test_self_references_and_self_calling_modules_terminate(tmp_path: Path) -> None:
    directory = write(tmp_path, {
        "main.tf": """
            locals {
              a = local.b
              b = local.a
            }
            module "loop" {
              source = "./"
              n      = 1
            }
            variable "n" {
              default = 0
            }
            resource "aws_instance" "x" {
              ami           = "ami-1"
              instance_type = local.a
            }
        """,
    })
    (request,) = read_hcl_requests(directory)  # the module calling itself is not followed
    assert request.address == "aws_instance.x"
    assert request.instance_type is None and "instance_type" in request.unknowns


def test_override_files_are_merged_into_the_blocks_they_override(tmp_path: Path) -> None:
    directory = write(tmp_path, {
        "main.tf": 'resource "aws_instance" "a" {\n  ami = "ami-1"\n  instance_type = "t3.micro"\n}\n',
        "main_override.tf": 'resource "aws_instance" "a" {\n  instance_type = "m6i.large"\n}\n',
    })
    (request,) = read_hcl_requests(directory)
    assert request.instance_type == "m6i.large" and request.source.line == 1


def test_the_reader_imports_python_hcl2_only_when_it_reads() -> None:
    code = (
        "import sys\n"
        "import tollgate.engine.hcl.reader\n"
        "assert 'hcl2' not in sys.modules, 'hcl2 imported at import time'\n"
        "assert 'lark' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unquoted_block_labels_still_get_their_line(tmp_path: Path) -> None:
    directory = write(tmp_path, {"main.tf": '# a comment\n\nresource aws_instance web {\n  ami = "ami-1"\n  instance_type = "t3.micro"\n}\n'})
    (request,) = read_hcl_requests(directory)
    assert (request.address, request.instance_type, request.source.line) == ("aws_instance.web", "t3.micro", 3)


def test_eks_node_groups_on_an_external_launch_template_do_not_take_the_eks_default(tmp_path: Path) -> None:
    directory = write(tmp_path, {
        "main.tf": """
            module "eks" {
              source  = "terraform-aws-modules/eks/aws"
              version = "~> 20.0"
              eks_managed_node_groups = {
                custom = {
                  create_launch_template = false
                  launch_template_id     = "lt-0123456789"
                }
              }
            }
        """,
    })
    (request,) = read_hcl_requests(directory)
    assert request.instance_type is None and "instance_types" in request.unknowns
