"""The shared HCL corpus (../shared/corpus/terraform-hcl) through the HCL reader, and the HCL
reader against the plan reader on ../shared/corpus/terraform-plans/aws-real/*/main.tf.

* every directory of the corpus (root modules and the local modules inside them) reads without an
  exception;
* one test per project, asserting what its .tf files say (types, counts, spot/priority, regions,
  GPU counts through the bundled catalog) and what they leave unknown;
* aws-real: the HCL of each case gives the same addresses, types, counts, purchase options, regions,
  tags and file:line as the plan that Terraform made from it, with these justified exceptions:
  - diff-update-replace-delete-us-east-1: `aws_instance.legacy_v100` is a deletion of an object
    only the state knows (no .tf declares it); HCL has no state;
  - same case: for objects already in the state the plan knows computed attributes such as the
    availability zone (`aws_instance.ranker`: us-east-1a); HCL knows a zone only when the
    configuration sets one, so zones are compared where HCL has one;
  - vars-from-cli-ap-northeast-1: planned with -var values that no .tf or .tfvars file holds, so
    from HCL alone the type, the counts and the spot switch are unknown (EXPECTED.md says so);
    with a var file holding those values HCL and plan agree.

Skips cleanly when ../shared is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tollgate.engine.hcl.reader import read_hcl_requests
from tollgate.engine.model import Action, ComputeRequest, PurchaseMix, PurchaseOption, Quantity
from tollgate.engine.terraform.plan_reader import read_plan_requests

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
HCL = SHARED / "corpus" / "terraform-hcl"
PLANS = SHARED / "corpus" / "terraform-plans" / "aws-real"


def _module_directories() -> list[Path]:
    if not HCL.is_dir():
        return []
    found = []
    for root, _, files in os.walk(HCL):
        if any(f.endswith((".tf", ".tfvars")) for f in files):
            found.append(Path(root))
    return sorted(found)


def _project(*parts: str) -> Path:
    path = HCL.joinpath(*parts)
    if not path.is_dir():
        pytest.skip(f"../shared corpus has no terraform-hcl/{'/'.join(parts)}")
    return path


def read(*parts: str, var_files: tuple[str, ...] = ()) -> dict[str, ComputeRequest]:
    directory = _project(*parts)
    found: dict[str, ComputeRequest] = {}
    for request in read_hcl_requests(str(directory), [str(directory / v) for v in var_files]):
        key = request.address + (f" {request.component}" if request.component else "")
        assert key not in found, f"{key} twice"
        found[key] = request
    return found


def shape(request: ComputeRequest) -> tuple[object, ...]:
    q = request.quantity
    return (request.instance_type, q.desired, q.min, q.max, request.purchase_option)


def gpus(catalog, request: ComputeRequest) -> tuple[float, str | None]:  # type: ignore[no-untyped-def]
    spec = catalog.spec(request.provider.value, request.instance_type)
    return spec.gpu_count, spec.gpu_model


@pytest.mark.parametrize("directory", _module_directories(), ids=lambda p: str(p.relative_to(HCL)))
def test_every_corpus_directory_reads_without_an_exception(directory: Path) -> None:
    requests = read_hcl_requests(str(directory))
    for request in requests:
        assert request.action is Action.CREATE
        assert request.source.file.endswith(".tf") and isinstance(request.source.line, int), request.address
        assert Path(request.source.file).is_file()
        if request.quantity.desired is None:
            assert request.unknowns, f"{request.address}: an unknown size must be named in unknowns"


def test_the_corpus_is_there_when_shared_is() -> None:
    if not HCL.is_dir():
        pytest.skip("../shared corpus not present")
    assert len(_module_directories()) >= 17


# --- AWS ---------------------------------------------------------------------------------------
EKS = "module.eks.module.eks_managed_node_group"
SELF = "module.eks.module.self_managed_node_group"


def test_eks_blueprints_kubecost_spot(catalog) -> None:  # type: ignore[no-untyped-def]
    (request,) = read("aws", "eks-blueprints-kubecost-spot").values()
    assert request.address == f'{EKS}["initial"].aws_eks_node_group.this[0]'
    assert shape(request) == ("m6i.large", 5, 3, 10, PurchaseOption.SPOT)
    assert request.instance_types == ("m6i.large", "m5.large", "m5n.large", "m5zn.large")
    assert request.region == "us-west-2"  # provider region = local.region
    assert request.tags["Blueprint"] == "eks-blueprints-kubecost-spot"  # basename(path.cwd)
    assert gpus(catalog, request) == (0, None)


def test_eks_blueprints_ml_capacity_block(catalog) -> None:  # type: ignore[no-untyped-def]
    found = read("aws", "eks-blueprints-ml-capacity-block")
    assert sorted(found) == [f'{EKS}["cbr"].aws_eks_node_group.this[0]', f'{EKS}["default"].aws_eks_node_group.this[0]']
    cbr = found[f'{EKS}["cbr"].aws_eks_node_group.this[0]']
    # capacity_type = "CAPACITY_BLOCK": a prepaid ML capacity block
    assert shape(cbr) == ("p5e.48xlarge", 2, 2, 2, PurchaseOption.RESERVED)
    assert gpus(catalog, cbr) == (8, "H200-141GB")
    assert cbr.region == "us-west-2" and cbr.source.file.endswith("eks.tf") and cbr.source.line == 61
    assert shape(found[f'{EKS}["default"].aws_eks_node_group.this[0]']) == ("m5.large", 2, 2, 2, PurchaseOption.ON_DEMAND)


def test_eks_blueprints_multi_node_vllm(catalog) -> None:  # type: ignore[no-untyped-def]
    found = read("aws", "eks-blueprints-multi-node-vllm")
    g6e = found[f'{EKS}["g6e"].aws_eks_node_group.this[0]']
    assert shape(g6e) == ("g6e.8xlarge", 2, 2, 5, PurchaseOption.ON_DEMAND)  # capacity_type unset: ON_DEMAND
    assert gpus(catalog, g6e) == (1, "L40S")
    assert g6e.region == "us-east-2"
    assert shape(found[f'{EKS}["default"].aws_eks_node_group.this[0]']) == ("m5.large", 2, 2, 2, PurchaseOption.ON_DEMAND)
    assert len(found) == 2


def test_infracost_example_terraform_aws() -> None:
    (request,) = read("aws", "infracost-example-terraform-aws").values()  # the lambda is not compute
    assert request.address == "aws_instance.my_web_app"
    assert shape(request) == ("m3.xlarge", 1, None, None, PurchaseOption.ON_DEMAND)
    assert (request.region, request.source.line) == ("us-east-1", 9)


def test_terracost_stack_asg_launch_template_configuration_and_mixed() -> None:
    found = read("aws", "terracost-stack-asg")
    # the template id and the configuration name are known after apply: linked by reference
    assert shape(found["module.magento.aws_autoscaling_group.lt"]) == ("t3.large", 2, 1, 10, PurchaseOption.ON_DEMAND)
    assert shape(found["module.magento.aws_autoscaling_group.lc"]) == ("m4.large", 3, 1, 5, PurchaseOption.ON_DEMAND)
    mixed = found["module.magento.aws_autoscaling_group.mixed"]
    # on_demand_base_capacity 2 and the AWS default 100% above the base: all on-demand
    assert shape(mixed) == ("c4.large", 3, 2, 15, PurchaseOption.ON_DEMAND)
    assert mixed.purchase_mix == PurchaseMix(on_demand=3, spot=0)
    assert {r.region for r in found.values()} == {"eu-west-1"}
    assert found["module.magento.aws_autoscaling_group.lt"].source.file.endswith("module/main.tf")


def test_terracost_stack_count_module_count_is_zero() -> None:
    # module "example" has count = length(var.instances) and var.instances defaults to []
    assert read("aws", "terracost-stack-count") == {}


def test_terracost_stack_count_module_read_alone_has_unknown_counts() -> None:
    found = read("aws", "terracost-stack-count", "ec2_instances")
    assert set(found) == {
        "aws_instance.instances[*]", "aws_instance.instancescount[*]", "aws_instance.instance_secret_scount[*]",
    }
    for request in found.values():
        assert request.quantity == Quantity(desired=None) and "count" in request.unknowns


def test_terracost_stack_eks_node_group_types_win_over_the_template() -> None:
    (request,) = read("aws", "terracost-stack-eks").values()
    assert request.address == "module.eks.aws_eks_node_group.example"
    assert shape(request) == ("t3.large", 1, 1, 2, PurchaseOption.ON_DEMAND)
    assert request.region == "eu-west-1"


def test_tf_aws_eks_tests_self_managed_node_groups() -> None:
    found = read("aws", "tf-aws-eks-tests-self-managed-node-group")
    # `source = "../.."` is the module itself (not in the corpus): read by its v21 input names
    assert {k.split('"')[1] for k in found} == {"default_node_group", "bottlerocket", "mixed", "instance_attributes", "complete", "efa"}
    group = f"{SELF}[%s].aws_autoscaling_group.this[0]"
    assert shape(found[group % '"default_node_group"']) == ("m6i.large", 1, 1, 3, PurchaseOption.ON_DEMAND)
    assert shape(found[group % '"bottlerocket"']) == ("m5.large", 2, 1, 3, PurchaseOption.ON_DEMAND)
    mixed = found[group % '"mixed"']
    assert mixed.instance_types == ("m5.large", "m6i.large")
    assert mixed.purchase_mix == PurchaseMix(on_demand=1, spot=1)  # 20% on-demand of 2, rounded up
    attributes = found[group % '"instance_attributes"']
    assert attributes.instance_type is None and "instance_type" in attributes.unknowns  # instance_requirements
    assert attributes.purchase_option is PurchaseOption.SPOT
    assert shape(found[group % '"complete"']) == ("m6i.large", 1, 1, 7, PurchaseOption.ON_DEMAND)
    efa = found[group % '"efa"']
    # `instance_types` is not a self-managed input: the module launches its default type, 0 of them
    assert shape(efa) == ("m6i.large", 0, 0, 1, PurchaseOption.ON_DEMAND)
    assert {r.region for r in found.values()} == {"eu-west-1"}
    assert all(any("has no .tf files here" in n for n in r.notes) for r in found.values())


# --- Azure -------------------------------------------------------------------------------------
def test_infracost_example_terraform_azure() -> None:
    (request,) = read("azure", "infracost-example-terraform-azure").values()  # app service/function: not VMs
    assert request.address == "azurerm_linux_virtual_machine.my_linux_vm"
    assert shape(request) == ("Standard_F16s", 1, None, None, PurchaseOption.ON_DEMAND)
    assert request.region == "eastus"


def test_liantis_aks_gpu(catalog) -> None:  # type: ignore[no-untyped-def]
    found = read("azure", "liantis-aks-gpu")
    (request,) = found.values()  # the GPU pool has count = var.enable_gpu_nodepool ? 1 : 0, default false
    assert request.address == "azurerm_kubernetes_cluster.aks"
    assert shape(request) == ("Standard_DS2_v2", 1, None, None, PurchaseOption.ON_DEMAND)
    assert request.region is None and "location" in request.unknowns  # var.location has no default
    assert gpus(catalog, request) == (0, None)


def test_terracost_stack_compute_azure() -> None:
    (request,) = read("azure", "terracost-stack-compute").values()
    assert request.address == "module.vm.azurerm_virtual_machine.main"
    assert shape(request) == ("Standard_DS1_v2", 1, None, None, PurchaseOption.ON_DEMAND)
    assert request.region == "France Central"  # var.azure_location's default, through the module input
    assert request.tags_known is False  # env/project/customer have no values


def test_zioproto_aks_spot_node_pool() -> None:
    found = read("azure", "zioproto-aks-spot-node-pool")
    pool = "module.aks.azurerm_kubernetes_cluster_node_pool.node_pool_create_before_destroy[%s]"
    default = found["module.aks.azurerm_kubernetes_cluster.main default_node_pool system"]
    assert shape(default) == ("Standard_D8s_v3", 1, 1, 5, PurchaseOption.ON_DEMAND)  # agents_count = null: starts at min
    assert shape(found[pool % '"user"']) == ("Standard_D8s_v3", 1, 1, 3, PurchaseOption.ON_DEMAND)
    assert shape(found[pool % '"ingress"']) == ("Standard_D8s_v3", 2, None, None, PurchaseOption.ON_DEMAND)
    assert shape(found[pool % '"spot"']) == ("Standard_D8s_v3", 1, 1, 10, PurchaseOption.SPOT)
    assert {r.region for r in found.values()} == {"eastus"}
    assert len(found) == 4


# --- GCP ---------------------------------------------------------------------------------------
def test_ai_infra_a2_instance_template_is_not_an_instance() -> None:
    assert read("gcp", "ai-infra-a2-instance-template") == {}
    assert read("gcp", "ai-infra-a2-instance-template", var_files=("test-input-simple.tfvars",)) == {}


def test_ai_infra_a3_gke() -> None:
    (request,) = read("gcp", "ai-infra-a3-gke").values()  # node_pools defaults to []: no explicit pools
    assert request.address == "google_container_cluster.cluster"
    assert request.component == "default node pool"  # initial_node_count = 1, not removed
    assert request.instance_type == "e2-medium"
    # location = var.region (no default): zonal or regional decides the count, so it is unknown
    assert request.quantity.desired is None and {"region", "node_count"} <= set(request.unknowns)


def test_ai_on_gke_platform_has_only_tfvars() -> None:
    assert read("gcp", "ai-on-gke-platform") == {}


def test_terracost_stack_compute_gcp() -> None:
    (request,) = read("gcp", "terracost-stack-compute").values()
    assert request.address == "module.vm.google_compute_instance.vm"
    assert shape(request) == ("e2-small", 1, None, None, PurchaseOption.ON_DEMAND)
    assert (request.region, request.region_source) == ("europe-west1", "provider zone")
    assert request.source.file.endswith("module-gce/gce.tf") and request.source.line == 49


# --- HCL against the plan ----------------------------------------------------------------------
PLAN_CASES = sorted(p.name for p in PLANS.iterdir() if (p / "main.tf").is_file()) if PLANS.is_dir() else []
PLAN_ONLY = {"diff-update-replace-delete-us-east-1": {"aws_instance.legacy_v100"}}


def _comparable(request: ComputeRequest, zone: bool = True) -> tuple[object, ...]:
    q = request.quantity
    return (
        request.kind, request.instance_type, request.instance_types, q.desired, q.min, q.max, q.unit,
        request.purchase_option, request.purchase_mix, request.region, request.zone if zone else None, request.accelerators,
        request.workload_class, request.tags, request.tags_known, request.operating_system,
        request.source, request.unknowns, [w.policy_id for w in request.waivers],
    )


@pytest.mark.parametrize("case", [c for c in PLAN_CASES if c != "vars-from-cli-ap-northeast-1"])
def test_hcl_reads_the_same_as_the_plan_terraform_made_from_it(case: str) -> None:
    directory = PLANS / case
    plan = {(r.address, r.component): r for r in read_plan_requests(str(directory / "plan.json"))}
    hcl = {(r.address, r.component): r for r in read_hcl_requests(str(directory))}
    expected_missing = {(a, None) for a in PLAN_ONLY.get(case, set())}
    assert set(plan) - set(hcl) == expected_missing
    assert set(hcl) <= set(plan)
    for key, request in hcl.items():
        assert _comparable(request) == _comparable(plan[key], zone=request.zone is not None), key


def test_vars_from_cli_from_hcl_alone_is_unknown_not_guessed() -> None:
    directory = PLANS / "vars-from-cli-ap-northeast-1"
    if not directory.is_dir():
        pytest.skip("../shared corpus not present")
    found = {r.address: r for r in read_hcl_requests(str(directory))}
    assert set(found) == {"aws_instance.worker[*]", "aws_instance.reranker[*]"}
    worker = found["aws_instance.worker[*]"]
    assert worker.instance_type is None
    assert worker.quantity == Quantity(desired=None)
    assert worker.purchase_option is PurchaseOption.UNKNOWN  # the dynamic spot block depends on var.spot_workers
    assert {"instance_type", "count", "instance_market_options"} <= set(worker.unknowns)
    notes = " ".join(worker.notes)
    for variable in ("var.gpu_instance_type", "var.worker_count", "var.spot_workers"):
        assert variable in notes
    reranker = found["aws_instance.reranker[*]"]
    assert reranker.instance_type == "g4dn.xlarge"  # a literal
    assert reranker.quantity.desired is None and "count" in reranker.unknowns  # floor(var.worker_count / 2)
    assert {r.region for r in found.values()} == {"ap-northeast-1"}
    # and with the values the plan was made with, HCL agrees with the plan
    plan = {r.address: r for r in read_plan_requests(str(directory / "plan.json"))}
    assert {a.split("[")[0] for a in plan} == {"aws_instance.worker", "aws_instance.reranker"}


def test_vars_from_cli_with_a_var_file_matches_the_plan(tmp_path: Path) -> None:
    directory = PLANS / "vars-from-cli-ap-northeast-1"
    if not directory.is_dir():
        pytest.skip("../shared corpus not present")
    var_file = tmp_path / "cli.tfvars"
    var_file.write_text('gpu_instance_type = "g5.2xlarge"\nworker_count = 4\nspot_workers = true\n')
    plan = {r.address: r for r in read_plan_requests(str(directory / "plan.json"))}
    hcl = {r.address: r for r in read_hcl_requests(str(directory), [str(var_file)])}
    assert set(hcl) == set(plan)
    for address, request in hcl.items():
        assert _comparable(request) == _comparable(plan[address]), address


def test_large_1k_configuration_gives_the_counts_of_expected_md() -> None:
    """aws-real/EXPECTED.md, large/: the counts of large-1k, read from its main.tf alone (the
    `terraform plan` of it took 17 s)."""
    directory = PLANS / "large" / "large-1k"
    if not (directory / "main.tf").is_file():
        pytest.skip("../shared corpus has no large-1k/main.tf")
    requests = read_hcl_requests(str(directory))
    instances = [r for r in requests if r.kind == "aws_instance"]
    assert len(instances) == 400
    assert sum(r.region == "us-east-1" for r in instances) == 280
    assert sum(r.region == "eu-west-1" for r in instances) == 120  # provider = aws.eu
    assert sum(r.purchase_option is PurchaseOption.SPOT for r in instances) == 80
    assert sum(bool({"team", "cost-center", "workload-class"} - set(r.tags)) for r in instances) == 54
    assert sum(r.kind == "aws_spot_instance_request" for r in requests) == 50
    groups = [r for r in requests if r.kind == "aws_autoscaling_group"]
    assert len(groups) == 50 and sum(r.purchase_mix is not None for r in groups) == 17
    assert sum(r.quantity.desired or 0 for r in groups) == 194
    # launch templates set through dynamic blocks are linked too (a plan's configuration omits
    # dynamic blocks, so the plan reader cannot link those)
    assert all(r.instance_type for r in groups)
    node_groups = [r for r in requests if r.kind == "aws_eks_node_group"]
    assert len(node_groups) == 50 and sum(r.purchase_option is PurchaseOption.SPOT for r in node_groups) == 25
    assert sum(r.quantity.desired or 0 for r in node_groups) == 100
