"""Pods priced as their share of the node they need, with the bundled catalog.

Every expected amount is worked out by hand from ../shared/pricing/prices.csv (the rows are quoted
next to each test), not from the catalog code under test.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from k8s_helpers import (
    AWS,
    AZURE,
    GCP,
    container,
    deployment,
    monthly,
    nano,
    priced_one,
    usd,
)
from tollgate.engine.model import PurchaseOption
from tollgate.engine.prices import PriceQuote
from tollgate.engine.pricing import unit_price

D = Decimal

# prices.csv rows used below (USD/hour, Linux):
G5_12XLARGE_OD = D("5.672")  # aws,us-east-1,g5.12xlarge,on_demand   (4 × A10G, 48 vCPU, 192 GiB)
G5_12XLARGE_SPOT = D("2.09864")  # aws,us-east-1,g5.12xlarge,spot
G5_XLARGE_OD = D("1.006")  # aws,us-east-1,g5.xlarge,on_demand       (1 × A10G, 4 vCPU, 16 GiB)
G5_XLARGE_SPOT = D("0.52312")  # aws,us-east-1,g5.xlarge,spot
G5_2XLARGE_OD = D("1.212")  # aws,us-east-1,g5.2xlarge,on_demand     (1 × A10G, 8 vCPU, 32 GiB)
M5_XLARGE_OD = D("0.192")  # aws,us-east-1,m5.xlarge,on_demand       (4 vCPU, 16 GiB)
M5_2XLARGE_OD = D("0.384")  # aws,us-east-1,m5.2xlarge,on_demand     (8 vCPU, 32 GiB)
P4D_OD = D("21.957642")  # aws,us-east-1,p4d.24xlarge,on_demand       (8 × A100-40GB)
G4AD_XLARGE_OD = D("0.37853")  # aws,us-east-1,g4ad.xlarge,on_demand (1 × Radeon Pro V520)
N1_STANDARD_2_OD = D("0.095")  # gcp,us-central1,n1-standard-2,on_demand (2 vCPU, 7.5 GB)
T4_OD = D("0.35")  # gcp_accelerators.csv: gcp,us-central1,nvidia-tesla-t4,on_demand
G2_STANDARD_24_SPOT = D("1.124816")  # gcp,us-central1,g2-standard-24,spot (2 × L4, 24 vCPU, 96 GB)
C2_STANDARD_16_SPOT = D("0.39872")  # gcp,us-central1,c2-standard-16,spot (16 vCPU, 64 GB)
NC24ADS_A100_SPOT = D("0.746721")  # azure,eastus,Standard_NC24ads_A100_v4,spot (1 × A100-80GB)
D2S_V4_OD = D("0.096")  # azure,eastus,Standard_D2s_v4,on_demand


def node_selector(pairs: dict[str, str]) -> str:
    inner = ", ".join(f'{k}: "{v}"' for k, v in pairs.items())
    return f"\n      nodeSelector: {{{inner}}}"


# --- the share of a named node type -------------------------------------------------------------------


def test_gpu_pod_pays_its_gpu_share_of_the_named_node(tmp_path, catalog):
    text = deployment(
        container(requests="cpu: 40, memory: 100Gi", limits="nvidia.com/gpu: 1"),
        replicas=2,
        pod_extra=node_selector({"node.kubernetes.io/instance-type": "g5.12xlarge"}),
    )
    item = priced_one(tmp_path, text, catalog, AWS)
    # GPU share 1 of 4 GPUs, whatever the CPU and memory: 5.672 / 4 = 1.418 per pod, 2 pods.
    assert usd(item) == G5_12XLARGE_OD / 4 * 2
    assert monthly(item) == D("2070.28")
    assert item.request.instance_type == "g5.12xlarge"
    assert item.after.parts[0].unit.unit_hourly.to_decimal() == D("1.418")
    assert item.after.gpus is not None and (item.after.gpus.count_per_instance, item.after.gpus.model, item.after.gpus.total) == (1.0, "A10G", 2.0)
    assert any("1/4 of a g5.12xlarge (GPU share: 1 of 4 A10Gs)" in n for n in item.after.notes)


def test_cpu_pod_pays_the_larger_of_its_cpu_and_memory_shares(tmp_path, catalog):
    named = node_selector({"node.kubernetes.io/instance-type": "m5.xlarge"})
    cpu_bound = priced_one(tmp_path, deployment(container(requests="cpu: 2, memory: 4Gi"), pod_extra=named), catalog, AWS)
    assert usd(cpu_bound) == M5_XLARGE_OD / 2  # max(2/4 vCPU, 4/16 GiB) = 1/2
    memory_bound = priced_one(tmp_path, deployment(container(requests="cpu: 1, memory: 12Gi"), pod_extra=named), catalog, AWS)
    assert usd(memory_bound) == M5_XLARGE_OD * 3 / 4  # max(1/4, 12/16) = 3/4
    assert any("memory share: 12 of 16 GiB" in n for n in memory_bound.after.notes)


def test_spot_from_the_capacity_selector_uses_the_spot_price(tmp_path, catalog):
    text = deployment(
        container(limits="nvidia.com/gpu: 1"),
        pod_extra=node_selector({"node.kubernetes.io/instance-type": "g5.xlarge", "karpenter.sh/capacity-type": "spot"}),
    )
    item = priced_one(tmp_path, text, catalog, AWS)
    assert item.request.purchase_option is PurchaseOption.SPOT
    assert item.request.purchase_reason == "nodeSelector karpenter.sh/capacity-type=spot"
    assert usd(item) == G5_XLARGE_SPOT


def test_azure_spot_from_a_tolerated_spot_taint(tmp_path, catalog):
    text = deployment(
        container(limits="nvidia.com/gpu: 1"),
        pod_extra=node_selector({"node.kubernetes.io/instance-type": "Standard_NC24ads_A100_v4"})
        + "\n      tolerations: [{key: kubernetes.azure.com/scalesetpriority, operator: Equal, value: spot, effect: NoSchedule}]",
    )
    item = priced_one(tmp_path, text, catalog, AZURE)
    assert item.request.purchase_option is PurchaseOption.SPOT
    assert "tolerates the spot taint kubernetes.azure.com/scalesetpriority=spot" in (item.request.purchase_reason or "")
    assert usd(item) == NC24ADS_A100_SPOT


def test_mig_slice_is_its_fraction_of_one_gpu(tmp_path, catalog):
    text = deployment(
        container(limits="nvidia.com/mig-1g.5gb: 1"),
        pod_extra=node_selector({"node.kubernetes.io/instance-type": "p4d.24xlarge"}),
    )
    item = priced_one(tmp_path, text, catalog, AWS)
    assert item.request.pod is not None and item.request.pod.gpus == pytest.approx(1 / 7)
    # 1/7 of one of 8 A100s: 21.957642 / 56 = 0.39210075 per hour.
    assert usd(item) == nano(P4D_OD / 56)
    assert any("MIG slice: 1/7 of one GPU" in n for n in item.request.notes)


def test_explicit_type_that_is_too_small_fits_no_node(tmp_path, catalog):
    text = deployment(
        container(limits="nvidia.com/gpu: 16"),
        pod_extra=node_selector({"node.kubernetes.io/instance-type": "p4d.24xlarge"}),
    )
    item = priced_one(tmp_path, text, catalog, AWS)
    assert item.after.hourly is None
    assert item.after.unpriced_reason == "fits no node: the pod needs 16 nvidia.com/gpu but it has 8 (p4d.24xlarge)"


def test_amd_pod_does_not_fit_an_nvidia_node(tmp_path, catalog):
    text = deployment(container(limits="amd.com/gpu: 1"), pod_extra=node_selector({"node.kubernetes.io/instance-type": "g5.xlarge"}))
    item = priced_one(tmp_path, text, catalog, AWS)
    assert item.after.unpriced_reason == "fits no node: the pod needs amd.com/gpu but it has A10G (g5.xlarge)"


# --- only the GPU model is known: the cheapest type with it that fits ---------------------------------


def test_gpu_product_label_picks_the_cheapest_type_with_that_gpu_that_fits(tmp_path, catalog):
    small = deployment(
        container(requests="cpu: 2, memory: 8Gi", limits="nvidia.com/gpu: 1"),
        pod_extra=node_selector({"nvidia.com/gpu.product": "NVIDIA-A10G"}),
    )
    item = priced_one(tmp_path, small, catalog, AWS)
    assert item.request.instance_type == "g5.xlarge"  # 1.006: the cheapest A10G type
    assert usd(item) == G5_XLARGE_OD
    assert any(n.startswith("only the GPU model is known (A10G, from nodeSelector nvidia.com/gpu.product=NVIDIA-A10G)") for n in item.after.notes)
    bigger = small.replace("cpu: 2, memory: 8Gi", "cpu: 6, memory: 24Gi")
    item = priced_one(tmp_path, bigger, catalog, AWS)
    assert item.request.instance_type == "g5.2xlarge"  # g5.xlarge has 4 vCPUs: the next cheapest that fits
    assert usd(item) == G5_2XLARGE_OD


def test_gke_accelerator_t4_is_an_n1_machine_with_an_attached_gpu(tmp_path, catalog):
    text = deployment(
        container(requests="cpu: 2, memory: 6Gi", limits="nvidia.com/gpu: 1"),
        pod_extra=node_selector({"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}),
    )
    item = priced_one(tmp_path, text, catalog, regions={"gcp": "us-central1"})
    assert item.request.provider.value == "gcp"
    # n1-highcpu-2 has 1.8 GB: the cheapest N1 that fits 2 CPUs and 6 GiB is n1-standard-2 (7.5 GB), + 1 T4.
    assert (item.request.instance_type, [(a.type, a.count) for a in item.request.accelerators]) == ("n1-standard-2", [("nvidia-tesla-t4", 1)])
    assert usd(item) == N1_STANDARD_2_OD + T4_OD
    assert item.after.gpus is not None and item.after.gpus.model == "T4"


def test_gke_l4_on_spot_picks_the_g2_with_two_gpus(tmp_path, catalog):
    text = deployment(
        container(requests="cpu: 10, memory: 60Gi", limits="nvidia.com/gpu: 2"),
        pod_extra=node_selector({"cloud.google.com/gke-accelerator": "nvidia-l4", "cloud.google.com/gke-spot": "true"}),
    )
    item = priced_one(tmp_path, text, catalog, GCP)
    assert (item.request.instance_type, item.request.purchase_option) == ("g2-standard-24", PurchaseOption.SPOT)
    assert usd(item) == G2_STANDARD_24_SPOT


def test_machine_family_selector_picks_the_cheapest_fitting_type_of_the_family(tmp_path, catalog):
    text = deployment(
        container(requests='cpu: "12", memory: 32G'),
        pod_extra=node_selector({"cloud.google.com/machine-family": "c2", "cloud.google.com/gke-spot": "true"}),
    )
    item = priced_one(tmp_path, text, catalog, GCP)
    assert item.request.instance_type == "c2-standard-16"  # c2-standard-8 has 8 vCPUs
    assert usd(item) == nano(C2_STANDARD_16_SPOT * 3 / 4)  # CPU share 12/16


def test_amd_gpu_name_label_picks_an_amd_type(tmp_path, catalog):
    text = deployment(
        container(requests="cpu: 2, memory: 8Gi", limits="amd.com/gpu: 1"),
        pod_extra=node_selector({"karpenter.k8s.aws/instance-gpu-name": "v520"}),
    )
    item = priced_one(tmp_path, text, catalog, AWS)
    assert item.request.instance_type == "g4ad.xlarge"
    assert usd(item) == G4AD_XLARGE_OD


def test_gpu_model_with_more_gpus_than_any_type_fits_no_node(tmp_path, catalog):
    text = deployment(container(limits="nvidia.com/gpu: 16"), pod_extra=node_selector({"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"}))
    item = priced_one(tmp_path, text, catalog, AWS)
    reason = item.after.unpriced_reason or ""
    assert reason.startswith("fits no node: the pod needs 16 nvidia.com/gpu; the largest aws type matching"), reason
    assert "p4d.24xlarge" in reason


def test_tpu_pod_uses_the_tpu_machine_and_says_it_has_no_price(tmp_path, catalog):
    text = deployment(
        container(requests="cpu: 24, memory: 200G", limits="google.com/tpu: 4"),
        pod_extra=node_selector({"cloud.google.com/gke-tpu-accelerator": "tpu-v6e-slice", "cloud.google.com/gke-tpu-topology": "4x4"}),
    )
    item = priced_one(tmp_path, text, catalog, GCP)
    assert item.request.instance_type == "ct6e-standard-4t"
    assert item.after.hourly is None
    assert "ct6e-standard-4t has no us-central1 price" in (item.after.unpriced_reason or "")
    assert item.after.gpus is not None and (item.after.gpus.model, item.after.gpus.kind) == ("TPU-v6e", "accelerator")


# --- the cluster profile ---------------------------------------------------------------------------


PROFILE = {
    "provider": "aws",
    "region": "us-east-1",
    "node_pools": [
        {"name": "general", "instance_types": ["m5.xlarge"], "labels": {"pool": "general"}},
        {
            "name": "gpu",
            "instance_types": ["g5.12xlarge"],
            "capacity": "spot",
            "labels": {"pool": "gpu"},
            "taints": ["nvidia.com/gpu=present:NoSchedule"],
        },
    ],
}
TOLERATE_GPU = "\n      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]"


def test_pool_whose_labels_match_the_selector_and_whose_taint_is_tolerated(tmp_path, catalog):
    text = deployment(container(limits="nvidia.com/gpu: 2"), pod_extra=node_selector({"pool": "gpu"}) + TOLERATE_GPU)
    item = priced_one(tmp_path, text, catalog, PROFILE)
    assert (item.request.instance_type, item.request.purchase_option) == ("g5.12xlarge", PurchaseOption.SPOT)
    assert item.request.purchase_reason == "cluster profile node pool gpu is spot"
    assert usd(item) == G5_12XLARGE_SPOT / 2  # 2 of 4 GPUs
    assert "node pool gpu of the cluster profile: g5.12xlarge" in item.after.notes


def test_pod_without_selectors_lands_on_the_first_pool_that_fits(tmp_path, catalog):
    item = priced_one(tmp_path, deployment(container(requests="cpu: 1, memory: 2Gi")), catalog, PROFILE)
    assert item.request.instance_type == "m5.xlarge"
    assert item.request.purchase_option is PurchaseOption.ON_DEMAND
    assert usd(item) == M5_XLARGE_OD / 4


def test_gpu_pod_that_does_not_tolerate_the_gpu_taint_fits_no_pool(tmp_path, catalog):
    item = priced_one(tmp_path, deployment(container(limits="nvidia.com/gpu: 1")), catalog, PROFILE)
    reason = item.after.unpriced_reason or ""
    assert reason.startswith("fits no node: the pod needs 1 nvidia.com/gpu; the largest cluster profile node type is m5.xlarge"), reason


def test_selector_no_pool_carries_falls_back_to_the_first_pool_that_fits_and_says_so(tmp_path, catalog):
    item = priced_one(tmp_path, deployment(container(requests="cpu: 2"), pod_extra=node_selector({"NodeGroupType": "spark"})), catalog, PROFILE)
    assert item.request.instance_type == "m5.xlarge"
    assert any("no pool carries the pod's node labels NodeGroupType=spark" in n for n in item.after.notes)


def test_pool_cpu_pod_too_big_for_every_pool_fits_no_node(tmp_path, catalog):
    item = priced_one(tmp_path, deployment(container(requests="cpu: 300")), catalog, PROFILE)
    assert (item.after.unpriced_reason or "").startswith("fits no node: the pod needs 300 CPUs")


def test_pod_spot_selector_skips_on_demand_pools(tmp_path, catalog):
    profile = {**PROFILE, "node_pools": [
        {"name": "od", "instance_types": ["m5.xlarge"]},
        {"name": "spot", "instance_types": ["m5.2xlarge"], "capacity": "spot"},
    ]}
    text = deployment(container(requests="cpu: 2"), pod_extra=node_selector({"eks.amazonaws.com/capacityType": "SPOT"}))
    item = priced_one(tmp_path, text, catalog, profile)
    assert (item.request.instance_type, item.request.purchase_option) == ("m5.2xlarge", PurchaseOption.SPOT)


def test_no_node_type_and_no_profile_is_unpriced_with_the_reason(tmp_path, catalog):
    item = priced_one(tmp_path, deployment(container(limits="nvidia.com/gpu: 1"), pod_extra=node_selector({"pool": "gpu"})), catalog, {"provider": "aws", "region": "us-east-1"})
    assert item.after.unpriced_reason == (
        "no node type: the pod needs 1 nvidia.com/gpu but its node labels (pool=gpu) name no instance type or GPU model, "
        "and there is no cluster profile node pool (`cluster.node_pools` in tollgate.yaml)"
    )


def test_unknown_cloud_best_effort_and_zero_replicas(tmp_path, catalog):
    unknown_cloud = priced_one(tmp_path, deployment(container(requests="cpu: 1")), catalog)
    assert (unknown_cloud.after.unpriced_reason or "").startswith("cloud provider is unknown")
    best_effort = priced_one(tmp_path, deployment(container()), catalog, PROFILE)
    assert "BestEffort" in (best_effort.after.unpriced_reason or "")
    idle = priced_one(tmp_path, deployment(container(limits="nvidia.com/gpu: 1"), replicas=0), catalog, PROFILE)
    assert idle.after.hourly is not None and idle.after.hourly.nanos == 0


def test_daemonset_pod_count_is_unknown_so_it_is_unpriced(tmp_path, catalog):
    text = """
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: agent}
    spec:
      template:
        spec:
          containers: [{name: a, image: x, resources: {requests: {cpu: 100m, memory: 128Mi}}}]
    """
    item = priced_one(tmp_path, text, catalog, PROFILE)
    assert item.request.instance_type == "m5.xlarge"
    assert item.after.unpriced_reason == "the number of pods is unknown (a DaemonSet runs one pod on every matching node)"


def test_unresolved_gpu_type_leaves_the_node_unknown_and_names_the_placeholder(tmp_path, catalog):
    text = deployment(container(limits="nvidia.com/gpu: 8"), pod_extra=node_selector({"cloud.google.com/gke-accelerator": "${GPU_TYPE}"}))
    item = priced_one(tmp_path, text, catalog, GCP)
    assert "gpu_model" in item.request.unknowns
    assert "${GPU_TYPE}" in (item.after.unpriced_reason or "")


# --- batch: hours, not all month -----------------------------------------------------------------------


def test_job_costs_its_expected_hours_not_a_month(tmp_path, catalog):
    text = """
    apiVersion: batch/v1
    kind: Job
    metadata:
      name: train
      annotations: {tollgate.dev/expected-hours: "10"}
    spec:
      parallelism: 2
      template:
        spec:
          nodeSelector: {node.kubernetes.io/instance-type: g5.xlarge}
          containers: [{name: t, image: x, resources: {limits: {nvidia.com/gpu: 1}}}]
          restartPolicy: Never
    """
    item = priced_one(tmp_path, text, catalog, AWS)
    assert item.request.hours_per_month_override == 10.0
    # 2 pods x 1.006 $/h x 10 h = $20.12 in the month (averaged over 730 h: one rounding at 1e-9 $/h).
    assert abs(monthly(item) - G5_XLARGE_OD * 2 * 10) < D("0.000001")
    assert any("runs 10 h/month" in n for n in item.after.notes)


def test_cronjob_costs_runs_per_month_times_hours_per_run(tmp_path, catalog):
    text = """
    apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: nightly
      annotations: {tollgate.dev/expected-hours: "2"}
    spec:
      schedule: "0 2 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              nodeSelector: {node.kubernetes.io/instance-type: m5.2xlarge}
              containers: [{name: etl, image: x, resources: {requests: {cpu: 2, memory: 8Gi}}}]
              restartPolicy: OnFailure
    """
    item = priced_one(tmp_path, text, catalog, AWS)
    # Daily: 1461 days / 48 months = 30.4375 runs x 2 h = 60.875 h; share 1/4 of m5.2xlarge.
    assert item.request.hours_per_month_override == 60.875
    assert abs(monthly(item) - M5_2XLARGE_OD / 4 * D("60.875")) < D("0.000001")


def test_spot_saving_of_a_pod_is_for_its_share(tmp_path, catalog):
    text = deployment(container(limits="nvidia.com/gpu: 1"), pod_extra=node_selector({"node.kubernetes.io/instance-type": "g5.12xlarge"}))
    item = priced_one(tmp_path, text, catalog, AWS)
    spot = unit_price(item.request, catalog, "us-east-1", "g5.12xlarge", "spot")
    assert isinstance(spot, PriceQuote)
    assert spot.unit_hourly.to_decimal() == G5_12XLARGE_SPOT / 4


# --- Karpenter NodePools -----------------------------------------------------------------------------


def test_karpenter_nodepool_types_are_resolved_and_limits_are_the_ceiling(tmp_path, catalog):
    text = """
    apiVersion: karpenter.sh/v1
    kind: NodePool
    metadata: {name: general}
    spec:
      template:
        spec:
          nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
          requirements:
            - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
            - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m5]}
            - {key: karpenter.k8s.aws/instance-size, operator: In, values: [xlarge, 2xlarge]}
      limits: {cpu: "40"}
    """
    item = priced_one(tmp_path, text, catalog, AWS)
    assert item.request.instance_types == ("m5.xlarge", "m5.2xlarge")  # cheapest node first
    assert usd(item) == 0  # nodes are launched for pods, which are priced themselves
    # Both cost 0.048 $/vCPU-hour; the ceiling is 40 vCPUs = 10 x m5.xlarge = 10 x 0.192 x 730 = 1,401.60.
    assert "ceiling: at its limits (40 vCPUs = 10 × m5.xlarge) it would cost $1,401.60/month" in item.after.notes


def test_karpenter_static_nodepool_with_an_azure_sku_is_priced_per_node(tmp_path, catalog):
    text = """
    apiVersion: karpenter.sh/v1
    kind: NodePool
    metadata: {name: warm}
    spec:
      replicas: 3
      template:
        spec:
          nodeClassRef: {group: karpenter.azure.com, kind: AKSNodeClass, name: default}
          requirements:
            - {key: karpenter.azure.com/sku-name, operator: In, values: [Standard_D2s_v4]}
    """
    item = priced_one(tmp_path, text, catalog, regions={"azure": "eastus"})
    assert item.request.purchase_option is PurchaseOption.ON_DEMAND  # Karpenter's default
    assert usd(item) == D2S_V4_OD * 3


def test_karpenter_family_and_size_labels_name_one_type(tmp_path, catalog):
    text = deployment(
        container(limits="nvidia.com/gpu: 2"),
        pod_extra=node_selector({"karpenter.k8s.aws/instance-family": "g5", "karpenter.k8s.aws/instance-size": "12xlarge"}),
    )
    item = priced_one(tmp_path, text, catalog, AWS)
    assert item.request.instance_type == "g5.12xlarge"
    assert usd(item) == G5_12XLARGE_OD / 2
    assert any("matching karpenter.k8s.aws/instance-family=g5, karpenter.k8s.aws/instance-size=12xlarge" in n for n in item.after.notes)


def test_beta_instance_type_label_and_a_list_of_types_takes_the_cheapest_that_fits(tmp_path, catalog):
    text = deployment(
        container(requests="cpu: 6", limits="nvidia.com/gpu: 1"),
        pod_extra="""
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - {key: beta.kubernetes.io/instance-type, operator: In, values: [g5.xlarge, g5.2xlarge, g5.12xlarge]}""",
    )
    item = priced_one(tmp_path, text, catalog, AWS)
    # g5.xlarge has 4 vCPUs; of the two that fit, g5.2xlarge (1.212) is cheaper than g5.12xlarge (5.672).
    assert item.request.instance_type == "g5.2xlarge"
    assert usd(item) == G5_2XLARGE_OD
