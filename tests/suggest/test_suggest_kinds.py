"""Each suggestion kind on AWS, GCP and Azure, with numbers checked by hand against
/work/shared/pricing/prices.csv (monthly = hourly x 730), and the cases where no suggestion is right."""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from suggest_helpers import kinds, request, run

from tollgate.engine.model import PurchaseMix, Quantity
from tollgate.engine.suggest.usage import Usage

NEEDS_24G = {
    "tollgate.dev/needs-gpus": "1",
    "tollgate.dev/needs-gpu-memory": "24Gi",
    "tollgate.dev/needs-vcpu": "4",
    "tollgate.dev/needs-memory": "16Gi",
}


def savings(s: object) -> float:
    return s.monthly_savings.rounded(2)  # type: ignore[attr-defined, no-any-return]


# --- spot ------------------------------------------------------------------------------------------


def test_spot_aws_batch_g5() -> None:
    # g5.xlarge us-east-1: on_demand 1.006, spot 0.52312; 2 x (1.006 - 0.52312) x 730 = 705.00
    s = kinds(run(request("aws_instance.train", "aws", "us-east-1", "g5.xlarge", 2, workload="batch")))["spot"]
    assert s.from_ == {
        "instance_type": "g5.xlarge", "quantity": 2, "purchase_option": "on_demand", "region": "us-east-1",
        "provider": "aws", "hourly_usd": 2.012, "monthly_usd": 1468.76,
    }
    assert s.to["purchase_option"] == "spot" and s.to["hourly_usd"] == 1.04624 and s.to["monthly_usd"] == 763.76
    assert savings(s) == 705.0
    assert "checkpoint" in s.rationale


def test_spot_gcp_n1_with_attached_t4() -> None:
    # n1-standard-8 0.379998 + T4 0.35 on demand; spot 0.13402 + 0.1654; (0.729998 - 0.29942) x 730 = 314.32
    s = kinds(run(request("google_compute_instance.t4", "gcp", "us-central1", "n1-standard-8", 1, workload="batch",
                          accelerators=(("nvidia-tesla-t4", 1),))))["spot"]
    assert s.from_["hourly_usd"] == 0.729998 and s.to["hourly_usd"] == 0.29942
    assert savings(s) == 314.32


def test_spot_azure_nc_a100() -> None:
    # Standard_NC24ads_A100_v4 eastus: 3.673 on demand, 0.746721 spot: 2.926279 x 730 = 2136.18
    s = kinds(run(request("azurerm_linux_virtual_machine.t", "azure", "eastus", "Standard_NC24ads_A100_v4", 1, workload="batch")))["spot"]
    assert savings(s) == 2136.18


def test_no_spot_for_online_serving_or_unknown() -> None:
    for workload in ("online", "unknown"):
        found = run(request("aws_instance.api", "aws", "us-east-1", "g5.xlarge", 2, workload=workload))
        assert "spot" not in kinds(found)


def test_no_spot_when_a_policy_forbids_it() -> None:
    policies = [{"id": "no-spot", "type": "spot", "forbid_for": ["batch"]}]
    found = run(request("aws_instance.train", "aws", "us-east-1", "g5.xlarge", 2, workload="batch"), policies=policies)
    assert "spot" not in kinds(found)


def test_no_spot_without_a_catalog_spot_price() -> None:
    # p5.48xlarge us-east-1 has only an on-demand price in the catalog
    assert run(request("aws_instance.p5", "aws", "us-east-1", "p5.48xlarge", 1, workload="batch")) == []


# --- commitment ------------------------------------------------------------------------------------


def test_commitment_aws_online() -> None:
    # g5.xlarge reserved_1y 0.591553: 2 x (1.006 - 0.591553) x 730 = 605.09
    s = kinds(run(request("aws_instance.api", "aws", "us-east-1", "g5.xlarge", 2, workload="online")))["commitment"]
    assert s.to["purchase_option"] == "reserved_1y" and s.to["hourly_usd"] == 1.183106
    assert savings(s) == 605.09


def test_commitment_gcp_cud_mentions_three_years() -> None:
    # a2-highgpu-1g cud_1y 2.314207, cud_3y 1.285708: (3.673385 - 2.314207) x 730 = 992.20; 3y 1.285708 x 730 = 938.57
    s = kinds(run(request("google_compute_instance.a2", "gcp", "us-central1", "a2-highgpu-1g", 1, workload="online")))["commitment"]
    assert savings(s) == 992.2
    assert "committed-use" in s.rationale and "$939/month" in s.rationale


def test_commitment_commits_only_the_minimum_of_a_scaling_group() -> None:
    item = request("aws_autoscaling_group.api", "aws", "us-east-1", "g5.xlarge", Quantity(desired=4, min=1, max=8), workload="online")
    s = kinds(run(item))["commitment"]
    assert s.from_["quantity"] == 1 and s.to["quantity"] == 1
    assert savings(s) == 302.55  # (1.006 - 0.591553) x 730


def test_no_commitment_for_batch_or_part_month() -> None:
    assert "commitment" not in kinds(run(request("aws_instance.t", "aws", "us-east-1", "g5.xlarge", 1, workload="batch")))
    item = request("aws_instance.t", "aws", "us-east-1", "g5.xlarge", 1, workload="online")
    item.hours_per_month_override = 100.0
    assert "commitment" not in kinds(run(item))


# --- generation ------------------------------------------------------------------------------------


def test_generation_aws_m3_to_current_non_burstable() -> None:
    # m3.xlarge 0.266 -> m5a.xlarge 0.172 (4 vCPU, 16 GiB; t3a is cheaper but burstable): 0.094 x 730 = 68.62
    s = kinds(run(request("aws_instance.legacy", "aws", "us-east-1", "m3.xlarge", 1)))["generation"]
    assert s.to["instance_type"] == "m5a.xlarge"
    assert savings(s) == 68.62


def test_generation_azure_a_series() -> None:
    # Standard_A4 0.48 -> Standard_D8als_v6 0.322 (8 vCPU, 16 GiB): 0.158 x 730 = 115.34
    s = kinds(run(request("azurerm_linux_virtual_machine.old", "azure", "eastus", "Standard_A4", 1)))["generation"]
    assert s.to["instance_type"] == "Standard_D8als_v6"
    assert savings(s) == 115.34


def test_generation_aws_p3_v100_to_a_current_gpu_with_at_least_its_memory() -> None:
    # The catalog flags p3 current; its V100 (Volta, 2017) is what makes it old. p3.2xlarge: 8 vCPU,
    # 61 GiB, 1 x V100 16 GiB, 3.06/h. g4dn.4xlarge (T4, 1.204) is cheaper but T4 (Turing) is
    # superseded too; g6.4xlarge (16 vCPU, 64 GiB, 1 x L4 24 GiB) 1.3232: 1.7368 x 730 = 1,267.86.
    s = kinds(run(request("aws_instance.train", "aws", "us-east-1", "p3.2xlarge", 1)))["generation"]
    assert s.to["instance_type"] == "g6.4xlarge" and s.to["hourly_usd"] == 1.3232
    assert savings(s) == 1267.86
    assert "V100-16GB GPUs, a superseded architecture (Volta, 2017)" in s.rationale


def test_generation_gcp_n1_with_attached_v100_to_g2() -> None:
    # n1-standard-8 0.379998 + nvidia-tesla-v100 2.48 = 2.859998; g2-standard-8 (8 vCPU, 32 GiB,
    # 1 x L4 24 GiB) 0.853624: 2.006374 x 730 = 1,464.65
    s = kinds(run(request("google_compute_instance.v100", "gcp", "us-central1", "n1-standard-8", 1,
                          accelerators=(("nvidia-tesla-v100", 1),))))["generation"]
    assert s.to["instance_type"] == "g2-standard-8"
    assert savings(s) == 1464.65


def test_no_generation_when_no_current_gpu_type_is_cheaper() -> None:
    # p2.xlarge (K80 12 GiB, 4 vCPU, 61 GiB) 0.90: every current type with 61 GiB and a GPU costs more.
    assert "generation" not in kinds(run(request("aws_instance.k80", "aws", "us-east-1", "p2.xlarge", 1)))


def test_generation_respects_instance_type_deny() -> None:
    policies = [{"id": "no-amd", "type": "instance_type", "deny": ["m5a.*", "m6a.*", "m7a.*", "r5a.*"]}]
    s = kinds(run(request("aws_instance.legacy", "aws", "us-east-1", "m3.xlarge", 1), policies=policies)).get("generation")
    assert s is None or not s.to["instance_type"].startswith(("m5a.", "m6a.", "m7a.", "r5a."))


def test_no_generation_for_an_unnamed_previous_gpu() -> None:
    # g2.2xlarge's GPU has no model in the catalog: an "equivalent" could be another vendor's
    assert "generation" not in kinds(run(request("aws_instance.g2", "aws", "us-east-1", "g2.2xlarge", 1)))


def test_no_generation_for_a_current_type() -> None:
    assert "generation" not in kinds(run(request("aws_instance.m", "aws", "us-east-1", "m5a.xlarge", 1)))


# --- rightsize -------------------------------------------------------------------------------------


def test_rightsize_declared_needs_on_p4d() -> None:
    # p4d.24xlarge 21.957642 -> g6.xlarge 0.8048 (1 x L4 24 GiB, 4 vCPU, 16 GiB): 21.152842 x 730 = 15441.57
    s = kinds(run(request("aws_instance.nb", "aws", "us-east-1", "p4d.24xlarge", 1, tags=NEEDS_24G)))["rightsize"]
    assert s.to["instance_type"] == "g6.xlarge"
    assert savings(s) == 15441.57
    assert "needs-gpu-memory" in s.rationale


def test_rightsize_none_when_already_the_cheapest_fit() -> None:
    assert "rightsize" not in kinds(run(request("aws_instance.nb", "aws", "us-east-1", "g6.xlarge", 1, tags=NEEDS_24G)))


def test_rightsize_respects_gpu_model_allow_list() -> None:
    policies = [{"id": "gpus", "type": "instance_type", "gpu_models_allow": ["A10G"]}]
    s = kinds(run(request("aws_instance.nb", "aws", "us-east-1", "p4d.24xlarge", 1, tags=NEEDS_24G), policies=policies))["rightsize"]
    # g5.xlarge 1.006: (21.957642 - 1.006) x 730 = 15294.70
    assert s.to["instance_type"] == "g5.xlarge"
    assert savings(s) == 15294.7


def test_rightsize_from_low_utilisation() -> None:
    # m5.4xlarge 0.768 at 10% CPU / 20% memory needs 2.67 vCPU / 21.3 GiB at 60%: r5a.xlarge 0.226
    usage = {"aws_instance.api": Usage(cpu=10, memory=20)}
    s = kinds(run(request("aws_instance.api", "aws", "us-east-1", "m5.4xlarge", 1), usage=usage))["rightsize"]
    assert s.to["instance_type"] == "r5a.xlarge"
    assert savings(s) == 395.66
    assert "utilisation" in s.rationale


def test_no_rightsize_when_utilisation_is_not_low() -> None:
    usage = {"aws_instance.api": Usage(cpu=70, memory=80)}
    assert run(request("aws_instance.api", "aws", "us-east-1", "m5.4xlarge", 1), usage=usage) == []


# --- packing ---------------------------------------------------------------------------------------


def test_packing_aws_declared_gpus() -> None:
    # g5.12xlarge 5.672 (4 x A10G) needs 1 GPU -> g5.xlarge 1.006: 4.666 x 730 = 3406.18
    s = kinds(run(request("aws_instance.g", "aws", "us-east-1", "g5.12xlarge", 1, tags={"tollgate.dev/needs-gpus": "1"})))["packing"]
    assert s.to["instance_type"] == "g5.xlarge"
    assert savings(s) == 3406.18


def test_packing_gcp_a2_bundle() -> None:
    # a2-highgpu-8g 29.38708 -> a2-highgpu-1g 3.673385: 25.713695 x 730 = 18771.00
    s = kinds(run(request("google_compute_instance.a", "gcp", "us-central1", "a2-highgpu-8g", 1, tags={"tollgate.dev/needs-gpus": "1"})))["packing"]
    assert s.to["instance_type"] == "a2-highgpu-1g"
    assert savings(s) == 18771.0


def test_packing_azure_nc_a100() -> None:
    # Standard_NC96ads_A100_v4 14.692 (4 x A100-80GB) -> Standard_NC24ads_A100_v4 3.673: 11.019 x 730 = 8043.87
    s = kinds(run(request("azurerm_linux_virtual_machine.a", "azure", "eastus", "Standard_NC96ads_A100_v4", 1,
                          tags={"tollgate.dev/needs-gpus": "1"})))["packing"]
    assert s.to["instance_type"] == "Standard_NC24ads_A100_v4"
    assert savings(s) == 8043.87


def test_no_packing_without_a_smaller_type_of_the_same_gpu() -> None:
    # AWS has the A100-40GB only as the 8-GPU p4d.24xlarge
    found = run(request("aws_instance.p", "aws", "us-east-1", "p4d.24xlarge", 1, tags={"tollgate.dev/needs-gpus": "1"}))
    assert "packing" not in kinds(found)


# --- region ----------------------------------------------------------------------------------------


def test_region_to_the_cheapest_allowed_region() -> None:
    # g5.xlarge eu-central-1 1.258 -> eu-north-1 1.067: 0.191 x 730 = 139.43
    policies = [{"id": "eu", "type": "region", "allow": {"aws": ["eu-*"]}}]
    s = kinds(run(request("aws_instance.g", "aws", "eu-central-1", "g5.xlarge", 1), policies=policies))["region"]
    assert s.to["region"] == "eu-north-1"
    assert savings(s) == 139.43


def test_region_skips_denied_regions() -> None:
    policies = [{"id": "eu", "type": "region", "allow": {"aws": ["eu-*"]}, "deny": {"aws": ["eu-north-1"]}}]
    s = kinds(run(request("aws_instance.g", "aws", "eu-central-1", "g5.xlarge", 1), policies=policies)).get("region")
    assert s is None or s.to["region"] != "eu-north-1"


def test_no_region_without_an_allow_list() -> None:
    assert "region" not in kinds(run(request("aws_instance.g", "aws", "eu-central-1", "g5.xlarge", 1)))
    policies = [{"id": "eu", "type": "region", "allow": {"gcp": ["europe-*"]}}]
    assert "region" not in kinds(run(request("aws_instance.g", "aws", "eu-central-1", "g5.xlarge", 1), policies=policies))


# --- cloud -----------------------------------------------------------------------------------------


def test_cloud_only_at_level_all_and_information_only() -> None:
    item = request("google_compute_instance.a", "gcp", "us-central1", "a2-highgpu-8g", 1)
    assert "cloud" not in kinds(run(item))
    s = kinds(run(item, level="all"))["cloud"]
    # 8 x A100-40GB: aws p4d.24xlarge in us-east-1 21.957642 vs 29.38708: 7.429438 x 730 = 5423.49
    assert s.to["provider"] == "aws" and s.to["region"] == "us-east-1" and s.to["instance_type"] == "p4d.24xlarge"
    assert savings(s) == 5423.49
    assert "not a drop-in move" in s.rationale


# --- what is never suggested -----------------------------------------------------------------------


def test_nothing_for_deletes_or_unpriced_requests() -> None:
    assert run(request("aws_instance.t", "aws", "us-east-1", "g5.xlarge", 2, workload="batch", action="delete")) == []
    assert run(request("aws_instance.t", "aws", "us-east-1", "no-such.type", 2, workload="batch")) == []


@pytest.mark.parametrize("level", ["none", "safe", "default", "all"])
def test_levels(level: str) -> None:
    items = [
        request("aws_instance.train", "aws", "us-east-1", "g5.xlarge", 2, workload="batch"),
        request("aws_instance.legacy", "aws", "us-east-1", "m3.xlarge", 1, workload="online"),
        request("aws_instance.g", "aws", "eu-central-1", "g5.xlarge", 1),
    ]
    policies = [{"id": "regions", "type": "region", "allow": {"aws": ["eu-*", "us-*"]}}]
    found = {s.kind for s in run(*items, policies=policies, level=level)}
    expected = {
        "none": set(),
        "safe": {"generation", "commitment"},
        "default": {"generation", "commitment", "spot", "region"},
        "all": {"generation", "commitment", "spot", "region", "cloud"},
    }[level]
    assert found == expected


def test_order_is_deterministic_and_one_per_kind_per_resource() -> None:
    items = [
        request("aws_instance.b", "aws", "us-east-1", "g5.xlarge", 2, workload="batch"),
        request("aws_instance.a", "aws", "us-east-1", "g5.xlarge", 2, workload="batch"),
        request("aws_instance.legacy", "aws", "us-east-1", "m3.xlarge", 1, workload="online"),
    ]
    first = run(*items, level="all")
    assert [(s.address, s.kind) for s in first] == [(s.address, s.kind) for s in run(*reversed(items), level="all")]
    keys = [(-s.monthly_savings.nanos, s.address) for s in first]
    assert keys == sorted(keys)
    assert len({(s.address, s.kind) for s in first}) == len(first)
    # the two identical requests: same savings, ordered by address
    spots = [s.address for s in first if s.kind == "spot"]
    assert spots == ["aws_instance.a", "aws_instance.b"]


def test_same_target_is_not_repeated_on_a_resource() -> None:
    # needs-gpus=1 on g5.12xlarge: packing and rightsize both land on g5.xlarge -> one suggestion
    found = run(request("aws_instance.g", "aws", "us-east-1", "g5.12xlarge", 1, tags={"tollgate.dev/needs-gpus": "1"}))
    targets = [(s.to["instance_type"], s.to["purchase_option"]) for s in found]
    assert len(targets) == len(set(targets))
    assert [s.kind for s in found if s.to["instance_type"] == "g5.xlarge"] == ["packing"]


def test_unknown_level_is_an_error() -> None:
    with pytest.raises(ValueError):
        run(request("aws_instance.g", "aws", "us-east-1", "g5.xlarge", 1), level="everything")


# --- parts of mixed and multi-type groups ----------------------------------------------------------


def test_spot_for_the_on_demand_part_of_a_mixed_batch_group() -> None:
    # 4 x g5.xlarge, 2 on demand + 2 spot; the 2 on-demand move to spot: 2 x (1.006 - 0.52312) x 730 = 705.00
    group = msgspec.structs.replace(
        request("aws_autoscaling_group.train", "aws", "us-east-1", "g5.xlarge", Quantity(4, 2, 8), workload="batch"),
        purchase_mix=PurchaseMix(2, 2),
    )
    found = kinds(run(group))
    assert set(found) == {"spot"}  # no rightsize, region or generation for part of a group
    s = found["spot"]
    assert s.from_["quantity"] == 2 and s.from_["hourly_usd"] == 2.012 and s.to["purchase_option"] == "spot"
    assert savings(s) == 705.0
    assert "the on-demand part of a mixed group: 2 of 4 instances" in s.rationale


def test_commitment_for_a_fixed_multi_type_online_group_says_what_it_covers() -> None:
    # 3 x m5.xlarge (first of m5.xlarge, m5a.xlarge) on demand 0.192, 1-year reserved 0.1129: 3 x 0.0791 x 730 = 173.23
    group = msgspec.structs.replace(
        request("aws_eks_node_group.web", "aws", "us-east-1", "m5.xlarge", 3, workload="online"),
        instance_types=("m5.xlarge", "m5a.xlarge"),
    )
    s = kinds(run(group))["commitment"]
    assert s.to["purchase_option"] == "reserved_1y" and s.to["quantity"] == 3
    assert savings(s) == 173.23
    assert "it covers m5.xlarge instances only" in s.rationale


def test_no_commitment_for_the_on_demand_part_of_a_scaling_mixed_group() -> None:
    group = msgspec.structs.replace(
        request("aws_autoscaling_group.web", "aws", "us-east-1", "m5.xlarge", Quantity(4, 2, 8), workload="online"),
        purchase_mix=PurchaseMix(2, 2),
    )
    assert run(group) == []
