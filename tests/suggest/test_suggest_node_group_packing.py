"""`packing` for a Terraform node group against the GPU pods of the same change scheduled on it
(issue 5, second case): linking pods to node groups, the fewer-nodes / smaller-type proposal, and
the cases where nothing must be said. End to end through `tollgate check` on a directory holding
a main.tf and a manifest, plus engine-level checks.

Prices (bundled catalog, from ../shared/pricing/prices.csv, linux on-demand):
  aws us-east-1    p4d.24xlarge  8 x A100-40GB, 96 vCPU, 1152 GiB   $21.957642/h
  gcp us-central1  a2-highgpu-8g 8 x A100-40GB, 96 vCPU,  680 GiB   $29.38708/h
                   a2-highgpu-4g 4 x A100-40GB, 48 vCPU,  340 GiB   $14.69354/h
                   a2-highgpu-2g 2 x A100-40GB, 24 vCPU,  170 GiB   $7.34677/h
  azure eastus     Standard_NC96ads_A100_v4  4 x A100-80GB, 96 vCPU, 880 GiB   $14.692/h
                   Standard_NC48ads_A100_v4  2 x A100-80GB, 48 vCPU, 440 GiB   $7.346/h
                   Standard_NC24ads_A100_v4  1 x A100-80GB (too few GPUs for a 2-GPU pod)
Every pod below asks for 8 CPUs, 64Gi and 2 GPUs unless said otherwise.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from suggest_helpers import CATALOG, HOURS

from tollgate.engine.hcl.reader import read_hcl_requests
from tollgate.engine.kubernetes.reader import read_manifest_requests
from tollgate.engine.config_loader import validate_cluster
from tollgate.engine.model import NodeGroupNodes
from tollgate.engine.pricing import price_requests
from tollgate.engine.report import Report
from tollgate.engine.suggest import suggest
from tollgate.engine.suggest.node_groups import link_pods, nodes_needed, pods_per_node
from tollgate.integrations.cli import main

# --- inputs ------------------------------------------------------------------------------------

AWS_PROVIDER = 'provider "aws" {\n  region = "us-east-1"\n}\n'
GCP_PROVIDER = 'provider "google" {\n  region = "us-central1"\n}\n'
AZURE_CLUSTER = """
provider "azurerm" {
  features {}
}

resource "azurerm_kubernetes_cluster" "main" {
  name                = "ml"
  location            = "eastus"
  resource_group_name = "rg"
  dns_prefix          = "ml"
  default_node_pool {
    name       = "system"
    vm_size    = "Standard_D4s_v5"
    node_count = 1
  }
}
"""


def eks_group(name: str, count: int, labels: str = "", taint: str = "", instance_type: str = "p4d.24xlarge") -> str:
    return f"""
resource "aws_eks_node_group" "{name}" {{
  cluster_name    = "ml"
  node_group_name = "{name}"
  node_role_arn   = "arn:aws:iam::123456789012:role/node"
  subnet_ids      = ["subnet-1"]
  instance_types  = ["{instance_type}"]
  {f"labels = {{ {labels} }}" if labels else ""}
  {taint}
  scaling_config {{
    desired_size = {count}
    min_size     = 1
    max_size     = 8
  }}
}}
"""


GPU_TAINT = """taint {
    key    = "dedicated"
    value  = "gpu"
    effect = "NO_SCHEDULE"
  }"""


def gke_pool(name: str, count: int, machine_type: str = "a2-highgpu-8g", labels: str = "") -> str:
    return f"""
resource "google_container_node_pool" "{name}" {{
  name       = "{name}"
  cluster    = "ml"
  location   = "us-central1-a"
  node_count = {count}
  node_config {{
    machine_type = "{machine_type}"
    {f"labels = {{ {labels} }}" if labels else ""}
  }}
}}
"""


def aks_pool(name: str, count: int, vm_size: str = "Standard_NC96ads_A100_v4", labels: str = "") -> str:
    return f"""
resource "azurerm_kubernetes_cluster_node_pool" "{name}" {{
  name                  = "{name}"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.main.id
  vm_size               = "{vm_size}"
  node_count            = {count}
  {f"node_labels = {{ {labels} }}" if labels else ""}
}}
"""


def deployment(
    replicas: int, selector: dict[str, str] | None = None, gpus: float = 2, tolerations: str = "", name: str = "trainer",
    cpu: str = "8", memory: str = "64Gi", kind: str = "Deployment",
) -> str:
    node_selector = f"\n      nodeSelector: {json.dumps(selector)}" if selector else ""
    toleration = f"\n      tolerations: {tolerations}" if tolerations else ""
    gpu = f", nvidia.com/gpu: {gpus:g}" if gpus else ""
    limits = f"\n            limits: {{nvidia.com/gpu: {gpus:g}}}" if gpus else ""
    replica_line = f"\n  replicas: {replicas}" if kind == "Deployment" else ""
    return f"""
apiVersion: apps/v1
kind: {kind}
metadata: {{name: {name}, namespace: ml}}
spec:{replica_line}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:{node_selector}{toleration}
      containers:
        - name: c
          image: x
          resources:
            requests: {{cpu: "{cpu}", memory: {memory}{gpu}}}{limits}
"""


def change(tmp_path: Path, terraform: str, *manifests: str) -> Path:
    (tmp_path / "main.tf").write_text(textwrap.dedent(terraform))
    (tmp_path / "k8s").mkdir(exist_ok=True)
    (tmp_path / "k8s" / "train.yaml").write_text("\n---\n".join(m.strip("\n") for m in manifests) + "\n")
    return tmp_path


def check(capsys: pytest.CaptureFixture[str], directory: Path, *extra: str) -> dict[str, Any]:
    code = main(["check", str(directory), "--format", "json", "--fail-on", "never", *extra])
    assert code == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def packing(report: dict[str, Any], address: str) -> dict[str, Any] | None:
    found = [s for s in report["suggestions"] if s["kind"] == "packing" and s["address"] == address]
    assert len(found) <= 1
    return found[0] if found else None


# --- end to end: a suggestion ----------------------------------------------------------------------


def test_eks_group_of_4_p4d_with_6_pods_of_2_gpus_needs_2_nodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 6 pods x 2 GPUs = 12 of 4 x 8 = 32 GPUs. One p4d.24xlarge holds min(8/2, 96/8, 1152/64) = 4 pods,
    # so ceil(6/4) = 2 nodes. AWS has no smaller A100-40GB type (p4de.24xlarge is A100-80GB, 8 GPUs):
    # fewer nodes. 4 x 21.957642 = 87.830568/h ($64,116.31/month) -> 2 x = 43.915284/h ($32,058.16/month);
    # saving 43.915284 x 730 = 32,058.15732 -> $32,058.16. The group's taint is tolerated.
    directory = change(
        tmp_path,
        AWS_PROVIDER + eks_group("gpu", 4, 'team = "ml"', GPU_TAINT),
        deployment(6, {"eks.amazonaws.com/nodegroup": "gpu"},
                   tolerations='[{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]'),
    )
    report = check(capsys, directory)
    s = packing(report, "aws_eks_node_group.gpu")
    assert s is not None, report["suggestions"]
    assert s["from"] == {
        "instance_type": "p4d.24xlarge", "quantity": 4, "purchase_option": "on_demand", "region": "us-east-1",
        "provider": "aws", "hourly_usd": 87.830568, "monthly_usd": 64116.31,
    }
    assert s["to"] == {
        "instance_type": "p4d.24xlarge", "quantity": 2, "purchase_option": "on_demand", "region": "us-east-1",
        "provider": "aws", "hourly_usd": 43.915284, "monthly_usd": 32058.16,
    }
    assert s["monthly_savings_usd"] == 32058.16
    assert s["rationale"].startswith(
        "6 pods × 2 A100-40GB GPUs (Deployment/ml/trainer in " + str(directory / "k8s" / "train.yaml") + ") scheduled on "
        "aws_eks_node_group.gpu: 4 × p4d.24xlarge (8 GPUs each) hold 32 GPUs for 12 requested; "
        "2 × p4d.24xlarge hold them, 4 pods per node: $32,058/month instead of $64,116/month"
    )
    assert report["totals"]["possible_savings_monthly_usd"] == 32058.16


def test_gke_a2_pool_linked_by_gke_nodepool_moves_to_a_smaller_a2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 3 pods x 2 GPUs on 2 x a2-highgpu-8g (16 GPUs): 58.77416/h ($42,905.14/month).
    #   fewer nodes: ceil(3/4) = 1 x a2-highgpu-8g          = 29.38708/h
    #   a2-highgpu-4g: 2 pods per node, 2 nodes x 14.69354  = 29.38708/h
    #   a2-highgpu-2g: 1 pod per node (2 GPUs, 24/8 vCPU, 170/64 GiB), 3 nodes x 7.34677 = 22.04031/h  <- cheapest
    # saving (58.77416 - 22.04031) x 730 = 36.73385 x 730 = 26,815.7105 -> $26,815.71
    directory = change(
        tmp_path,
        GCP_PROVIDER + gke_pool("a100", 2) + gke_pool("cpu", 3, "n2-standard-8"),
        deployment(3, {"cloud.google.com/gke-nodepool": "a100"}),
    )
    report = check(capsys, directory)
    s = packing(report, "google_container_node_pool.a100")
    assert s is not None, report["suggestions"]
    assert s["from"]["quantity"] == 2 and s["from"]["hourly_usd"] == 58.77416 and s["from"]["monthly_usd"] == 42905.14
    assert s["to"] == {
        "instance_type": "a2-highgpu-2g", "quantity": 3, "purchase_option": "on_demand", "region": "us-central1",
        "provider": "gcp", "hourly_usd": 22.04031, "monthly_usd": 16089.43,
    }
    assert s["monthly_savings_usd"] == 26815.71
    assert "2 × a2-highgpu-8g (8 GPUs each) hold 16 GPUs for 6 requested; 3 × a2-highgpu-2g (2 GPUs each) hold them, 1 pod per node" in s["rationale"]
    assert packing(report, "google_container_node_pool.cpu") is None


def test_aks_nc_pool_linked_by_a_custom_node_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 3 pods x 2 GPUs on 2 x Standard_NC96ads_A100_v4 (4 GPUs each, 2 pods per node): 2 nodes are needed,
    # so not fewer nodes; 3 x Standard_NC48ads_A100_v4 (2 GPUs, 1 pod each) = 22.038/h instead of
    # 2 x 14.692 = 29.384/h; saving 7.346 x 730 = $5,362.58. The pod names no cloud (custom label only).
    directory = change(
        tmp_path,
        AZURE_CLUSTER + aks_pool("a100", 2, labels='pool = "a100"'),
        deployment(3, {"pool": "a100"}),
    )
    report = check(capsys, directory)
    s = packing(report, "azurerm_kubernetes_cluster_node_pool.a100")
    assert s is not None, report["suggestions"]
    assert s["from"]["hourly_usd"] == 29.384 and s["from"]["monthly_usd"] == 21450.32
    assert s["to"] == {
        "instance_type": "Standard_NC48ads_A100_v4", "quantity": 3, "purchase_option": "on_demand", "region": "eastus",
        "provider": "azure", "hourly_usd": 22.038, "monthly_usd": 16087.74,
    }
    assert s["monthly_savings_usd"] == 5362.58
    assert packing(report, "azurerm_kubernetes_cluster.main") is None


def test_plan_json_node_group_links_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The same EKS case as above from a plan instead of .tf files: $32,058.16. As in a real
    # `terraform show -json` (examples/aws-gpu-training/plan.json), node_group_name_prefix is
    # computed, so unknown, even though the name is set: the name is still known.
    plan = {
        "format_version": "1.2",
        "configuration": {"provider_config": {"aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"}}}}},
        "resource_changes": [{
            "address": "aws_eks_node_group.gpu", "mode": "managed", "type": "aws_eks_node_group", "name": "gpu",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["create"], "before": None, "after_unknown": {"taint": [], "node_group_name_prefix": True}, "after": {
                "node_group_name": "gpu", "instance_types": ["p4d.24xlarge"],
                "capacity_type": "ON_DEMAND", "labels": None, "taint": [],
                "scaling_config": [{"desired_size": 4, "min_size": 1, "max_size": 8}],
            }},
        }],
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    (tmp_path / "train.yaml").write_text(deployment(6, {"eks.amazonaws.com/nodegroup": "gpu", "eks.amazonaws.com/capacityType": "ON_DEMAND"}))
    s = packing(check(capsys, tmp_path), "aws_eks_node_group.gpu")
    assert s is not None and s["to"]["quantity"] == 2 and s["monthly_savings_usd"] == 32058.16


def test_eks_module_group_links_by_its_labels_not_its_prefixed_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # terraform-aws-modules/eks names the group "gpu-<random>" (use_name_prefix defaults to true): a pod
    # selecting eks.amazonaws.com/nodegroup=gpu is not linked; one selecting the group's label is ($32,058.16).
    module = AWS_PROVIDER + """
module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.0"
  eks_managed_node_groups = {
    gpu = {
      instance_types = ["p4d.24xlarge"]
      desired_size   = 4
      min_size       = 1
      max_size       = 8
      labels         = { accelerator = "a100" }
    }
  }
}
"""
    (request,) = read_hcl_requests(str(change(tmp_path, module, deployment(6, {"accelerator": "a100"}))))
    assert request.node_group is not None and "eks.amazonaws.com/nodegroup" in request.node_group.unknown_labels
    address = 'module.eks.module.eks_managed_node_group["gpu"].aws_eks_node_group.this[0]'
    s = packing(check(capsys, tmp_path), address)
    assert s is not None and s["to"]["quantity"] == 2 and s["monthly_savings_usd"] == 32058.16
    change(tmp_path, module, deployment(6, {"eks.amazonaws.com/nodegroup": "gpu"}))
    assert packing(check(capsys, tmp_path), address) is None


# --- end to end: nothing to say --------------------------------------------------------------------


def test_no_suggestion_when_the_group_is_full(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 8 pods x 2 GPUs = 16 = 2 x 8 GPUs
    directory = change(tmp_path, AWS_PROVIDER + eks_group("gpu", 2), deployment(8, {"eks.amazonaws.com/nodegroup": "gpu"}))
    assert packing(check(capsys, directory), "aws_eks_node_group.gpu") is None


def test_no_suggestion_for_pods_without_node_requirements(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = change(tmp_path, AWS_PROVIDER + eks_group("gpu", 4), deployment(6))
    assert packing(check(capsys, directory), "aws_eks_node_group.gpu") is None


def test_no_suggestion_for_pods_that_only_name_an_instance_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The pods could land on p4d nodes the change does not show (another group, Karpenter).
    directory = change(tmp_path, AWS_PROVIDER + eks_group("gpu", 4), deployment(6, {"node.kubernetes.io/instance-type": "p4d.24xlarge"}))
    assert packing(check(capsys, directory), "aws_eks_node_group.gpu") is None


def test_no_suggestion_when_two_groups_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    terraform = AWS_PROVIDER + eks_group("gpu-a", 4, 'pool = "gpu"') + eks_group("gpu-b", 4, 'pool = "gpu"')
    report = check(capsys, change(tmp_path, terraform, deployment(6, {"pool": "gpu"})))
    assert packing(report, "aws_eks_node_group.gpu-a") is None and packing(report, "aws_eks_node_group.gpu-b") is None


def test_no_suggestion_when_the_pod_does_not_tolerate_the_groups_taint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = change(tmp_path, AWS_PROVIDER + eks_group("gpu", 4, taint=GPU_TAINT), deployment(6, {"eks.amazonaws.com/nodegroup": "gpu"}))
    assert packing(check(capsys, directory), "aws_eks_node_group.gpu") is None


def test_no_suggestion_when_a_policy_forbids_the_smaller_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The AKS case above needs its 2 nodes; the only smaller type that holds the pods is denied.
    directory = change(tmp_path, AZURE_CLUSTER + aks_pool("a100", 2, labels='pool = "a100"'), deployment(3, {"pool": "a100"}))
    config = tmp_path / "tollgate.yaml"
    config.write_text("version: 1\npolicies:\n  - {id: gpu-types, type: instance_type, severity: warning, deny: ['Standard_NC48ads*']}\n")
    assert packing(check(capsys, directory, "--config", str(config)), "azurerm_kubernetes_cluster_node_pool.a100") is None


def test_no_suggestion_when_the_groups_count_is_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    terraform = AWS_PROVIDER + 'variable "nodes" {\n  type = number\n}\n' + eks_group("gpu", 4).replace("desired_size = 4", "desired_size = var.nodes").replace("min_size     = 1", "min_size     = var.nodes")
    directory = change(tmp_path, terraform, deployment(6, {"eks.amazonaws.com/nodegroup": "gpu"}))
    assert packing(check(capsys, directory), "aws_eks_node_group.gpu") is None


def test_a_denied_smaller_type_falls_back_to_fewer_nodes_and_a_tie_keeps_the_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The GKE case with a2-highgpu-2g denied: 1 x a2-highgpu-8g and 2 x a2-highgpu-4g both cost 29.38708/h;
    # the same type wins the tie. Saving 29.38708 x 730 = 21,452.5684 -> $21,452.57.
    directory = change(tmp_path, GCP_PROVIDER + gke_pool("a100", 2), deployment(3, {"cloud.google.com/gke-nodepool": "a100"}))
    config = tmp_path / "tollgate.yaml"
    config.write_text("version: 1\npolicies:\n  - {id: gpu-types, type: instance_type, severity: warning, deny: ['a2-highgpu-2g']}\n")
    s = packing(check(capsys, directory, "--config", str(config)), "google_container_node_pool.a100")
    assert s is not None and (s["to"]["instance_type"], s["to"]["quantity"]) == ("a2-highgpu-8g", 1)
    assert s["monthly_savings_usd"] == 21452.57


# --- engine level ----------------------------------------------------------------------------------


def _priced(tmp_path: Path, terraform: str, manifest: str, cluster: dict[str, Any] | None = None) -> list[Any]:
    directory = change(tmp_path, terraform, manifest)
    requests = read_hcl_requests(str(directory))
    requests += read_manifest_requests(str(directory / "k8s" / "train.yaml"), validate_cluster(cluster) if cluster else None)
    return price_requests(requests, CATALOG, {}, HOURS)


def test_extractors_fill_node_labels_and_taints(tmp_path: Path) -> None:
    terraform = AWS_PROVIDER + eks_group("gpu", 4, 'team = "ml"', GPU_TAINT)
    terraform += """
resource "google_container_node_pool" "spot" {
  name       = "spot"
  cluster    = "ml"
  location   = "us-central1-a"
  node_count = 1
  node_config {
    machine_type = "g2-standard-8"
    spot         = true
    labels       = { tier = "batch" }
    taint {
      key    = "batch"
      value  = "true"
      effect = "NO_EXECUTE"
    }
  }
}
""" + AZURE_CLUSTER + """
resource "azurerm_kubernetes_cluster_node_pool" "spot" {
  name                  = "spot"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.main.id
  vm_size               = "Standard_NC24ads_A100_v4"
  node_count            = 1
  priority              = "Spot"
  node_taints           = ["sku=gpu:NoSchedule"]
}
"""
    (tmp_path / "main.tf").write_text(terraform)
    found = {r.address: r.node_group for r in read_hcl_requests(str(tmp_path))}
    assert found["aws_eks_node_group.gpu"] == NodeGroupNodes(
        labels=(("eks.amazonaws.com/capacityType", "ON_DEMAND"), ("eks.amazonaws.com/nodegroup", "gpu"), ("team", "ml")),
        taints=("dedicated=gpu:NoSchedule",),
    )
    assert found["google_container_node_pool.spot"] == NodeGroupNodes(
        labels=(("cloud.google.com/gke-nodepool", "spot"), ("cloud.google.com/gke-provisioning", "spot"),
                ("cloud.google.com/gke-spot", "true"), ("tier", "batch")),
        taints=("batch=true:NoExecute",),
    )
    assert found["azurerm_kubernetes_cluster_node_pool.spot"] == NodeGroupNodes(
        labels=(("agentpool", "spot"), ("kubernetes.azure.com/agentpool", "spot"), ("kubernetes.azure.com/scalesetpriority", "spot")),
        taints=("sku=gpu:NoSchedule", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"),
    )
    assert found["azurerm_kubernetes_cluster.main"] is not None
    assert dict(found["azurerm_kubernetes_cluster.main"].labels)["kubernetes.azure.com/agentpool"] == "system"


def test_unknown_label_values_make_a_match_uncertain(tmp_path: Path) -> None:
    # Group b's `pool` label is unknown without a plan: the pod might land there too, so it is not linked.
    terraform = AWS_PROVIDER + 'variable "pool" {\n  type = string\n}\n' + eks_group("a", 4, 'pool = "gpu"') + eks_group("b", 4, "pool = var.pool")
    items = _priced(tmp_path, terraform, deployment(6, {"pool": "gpu"}))
    links = link_pods(items, CATALOG)
    assert links.linked == frozenset() and links.pods == {}
    # ... while a pod that rules b out by its name is linked to a.
    items = _priced(tmp_path, terraform, deployment(6, {"pool": "gpu", "eks.amazonaws.com/nodegroup": "a"}))
    links = link_pods(items, CATALOG)
    (group,) = [i.request for i in items if i.request.address == "aws_eks_node_group.a"]
    assert [p.request.address for p in links.pods_on(group)] == ["Deployment/ml/trainer"]


def test_a_pod_of_another_cloud_or_requiring_a_missing_label_is_not_linked(tmp_path: Path) -> None:
    terraform = AWS_PROVIDER + eks_group("gpu", 4, 'pool = "gpu"')
    items = _priced(tmp_path, terraform, deployment(6, {"pool": "gpu"}), cluster={"provider": "gcp", "region": "us-central1"})
    assert link_pods(items, CATALOG).linked == frozenset()
    items = _priced(tmp_path, terraform, deployment(6, {"pool": "gpu", "karpenter.sh/capacity-type": "on-demand"}))
    assert link_pods(items, CATALOG).linked == frozenset()
    items = _priced(tmp_path, terraform, deployment(6, {"pool": "gpu", "cloud.google.com/gke-accelerator": "nvidia-tesla-a100"}))
    assert link_pods(items, CATALOG).linked == frozenset()
    # GPU labels of the group's own machine hold
    items = _priced(tmp_path, terraform, deployment(6, {"pool": "gpu", "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB", "kubernetes.io/arch": "amd64"}))
    assert len(link_pods(items, CATALOG).linked) == 1


def test_linked_pods_get_no_pod_level_packing_so_savings_are_not_counted_twice(tmp_path: Path) -> None:
    # 3 pods x 1 GPU pinned to a2-highgpu-8g (and, with the cluster profile, priced). Alone they get a
    # pod-level packing: their one whole a2-highgpu-8g node (29.38708/h) -> 3 x a2-highgpu-1g (11.020155/h),
    # $13,407.86. Linked to a pool of 2 x a2-highgpu-8g, only the pool's packing is reported: the pods
    # require node.kubernetes.io/instance-type=a2-highgpu-8g, so no smaller type keeps them schedulable,
    # and 1 node of the 2 holds them: saving 29.38708 x 730 = 21,452.5684 -> $21,452.57.
    manifest = deployment(3, {"cloud.google.com/gke-nodepool": "a100", "node.kubernetes.io/instance-type": "a2-highgpu-8g"}, gpus=1)
    cluster = {"provider": "gcp", "region": "us-central1"}
    alone = price_requests(
        read_manifest_requests(str(change(tmp_path, "", manifest) / "k8s" / "train.yaml"), validate_cluster(cluster)), CATALOG, {}, HOURS
    )
    (pod_level,) = [s for s in suggest(alone, CATALOG, None, HOURS) if s.kind == "packing"]
    assert pod_level.address == "Deployment/ml/trainer" and pod_level.monthly_savings.rounded(2) == 13407.86
    items = _priced(tmp_path, GCP_PROVIDER + gke_pool("a100", 2), manifest, cluster)
    found = suggest(items, CATALOG, None, HOURS)
    (s,) = [s for s in found if s.kind == "packing"]
    assert s.address == "google_container_node_pool.a100"
    assert (s.to["instance_type"], s.to["quantity"]) == ("a2-highgpu-8g", 1) and s.monthly_savings.rounded(2) == 21452.57
    report = Report(pricing_mode="bundled", sources=[], catalog_as_of=None, resources=items, inputs=[], hours_per_month=HOURS)
    report.suggestions = found
    best: dict[str, float] = {}
    for suggestion in found:
        best[suggestion.address] = max(best.get(suggestion.address, 0.0), float(suggestion.monthly_savings.rounded(2)))
    assert float(report.possible_savings().rounded(2)) == pytest.approx(sum(best.values()), abs=0.011)
    assert "Deployment/ml/trainer" not in {x.address for x in found if x.kind == "packing"}


def test_a_daemonset_on_the_group_is_a_per_node_reservation(tmp_path: Path) -> None:
    # A DaemonSet asking 40 CPUs on every node leaves 56 of 96 vCPUs: 7 pods per p4d by CPU... but 4 by GPU;
    # at 24 CPUs each it leaves room for 2 pods (56/24) per node: 6 pods need 3 nodes, not 2.
    manifests = [
        deployment(6, {"eks.amazonaws.com/nodegroup": "gpu"}, cpu="24"),
        deployment(0, {"eks.amazonaws.com/nodegroup": "gpu"}, gpus=0, cpu="40", memory="1Gi", name="agent", kind="DaemonSet"),
    ]
    directory = change(tmp_path, AWS_PROVIDER + eks_group("gpu", 4), *manifests)
    requests = read_hcl_requests(str(directory)) + read_manifest_requests(str(directory / "k8s" / "train.yaml"), None)
    found = [s for s in suggest(price_requests(requests, CATALOG, {}, HOURS), CATALOG, None, HOURS) if s.kind == "packing"]
    (s,) = found
    assert s.to["quantity"] == 3 and "after the linked DaemonSets' requests on every node" in s.rationale


def test_pods_per_node_and_mixed_shapes() -> None:
    from tollgate.engine.model import PodResources

    two = PodResources(cpu=8.0, memory_gib=64.0, gpus=2.0)
    one_big_cpu = PodResources(cpu=60.0, memory_gib=8.0, gpus=1.0)
    assert pods_per_node(8, 96, 1152, two) == 4
    assert pods_per_node(8, 96, 100, two) == 1  # memory-bound
    assert pods_per_node(8, 96, None, two) == 4  # unknown node memory does not limit
    from tollgate.engine.suggest.node_groups import _Shape

    item: Any = None
    # 5 x (2 GPU, 8 CPU) + 2 x (1 GPU, 60 CPU) on 8-GPU / 96-vCPU nodes: the big-CPU pods take one node
    # each (60 + 60 > 96) and leave 7 GPUs, 36 vCPUs there; the 2-GPU pods fill 3 + 2 of those: 2 nodes.
    assert nodes_needed([_Shape(item, two, 5), _Shape(item, one_big_cpu, 2)], 8, 96, 1152) == 2
    assert nodes_needed([_Shape(item, two, 6)], 8, 96, 1152) == 2
    assert nodes_needed([_Shape(item, PodResources(cpu=1.0, memory_gib=1.0, gpus=16.0), 1)], 8, 96, 1152) is None


def test_aks_module_pools_created_before_destroy_have_no_known_agentpool_label(tmp_path: Path) -> None:
    # Azure/aks v7+ suffixes these pools' names with random characters; their node_labels still hold.
    (tmp_path / "main.tf").write_text(textwrap.dedent("""
        provider "azurerm" {
          features {}
        }
        module "aks" {
          source              = "Azure/aks/azurerm"
          version             = "9.0.0"
          location            = "eastus"
          resource_group_name = "rg"
          prefix              = "ml"
          node_pools = {
            gpu = {
              name        = "gpu"
              vm_size     = "Standard_NC96ads_A100_v4"
              node_count  = 2
              node_labels = { pool = "a100" }
            }
          }
        }
    """))
    found = {r.address: r.node_group for r in read_hcl_requests(str(tmp_path))}
    pool = found['module.aks.azurerm_kubernetes_cluster_node_pool.node_pool_create_before_destroy["gpu"]']
    assert pool is not None and pool.labels == (("pool", "a100"),)
    assert set(pool.unknown_labels) == {"agentpool", "kubernetes.azure.com/agentpool"}


def test_mig_slices_are_not_packed(tmp_path: Path) -> None:
    manifest = deployment(3, {"cloud.google.com/gke-nodepool": "a100"}, gpus=0, cpu="8").replace(
        'memory: 64Gi}', 'memory: 64Gi, nvidia.com/mig-1g.5gb: 1}'
    )
    items = _priced(tmp_path, GCP_PROVIDER + gke_pool("a100", 2), manifest)
    assert len(link_pods(items, CATALOG).linked) == 1
    assert [s for s in suggest(items, CATALOG, None, HOURS) if s.kind == "packing"] == []
