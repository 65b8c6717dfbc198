"""Recognising the registry modules where compute hides, their versions, and their defaults
(engine/hcl/registry_modules.py). A default that differs between the versions a constraint allows
is unknown, never picked."""

from __future__ import annotations

import pytest

from tollgate.engine.hcl.evaluate import Unknown
from tollgate.engine.hcl.registry_modules import KnownModule, default, major_range, recognize, synthesize


@pytest.mark.parametrize(
    "constraint, expected",
    [
        ("~> 20.34", (20, 20)),
        ("~> 20", (20, None)),
        ("20.8.1", (20, 20)),
        ("= 21.0.0", (21, 21)),
        (">= 19, < 21", (19, 20)),
        (">= 19, < 21.2", (19, 21)),
        (">= 20", (20, None)),
        ("<= 20.5", (None, 20)),
        ("!= 20.1.0", (None, None)),
    ],
)
def test_major_versions_a_constraint_allows(constraint: str, expected: tuple[int | None, int | None]) -> None:
    assert major_range(constraint) == expected


@pytest.mark.parametrize(
    "source, version, kind, majors",
    [
        ("terraform-aws-modules/eks/aws", "~> 20.0", "eks", (20, 20)),
        ("registry.terraform.io/terraform-aws-modules/eks/aws", "21.1.0", "eks", (21, 21)),
        ("terraform-aws-modules/eks/aws//modules/eks-managed-node-group", "20.8.0", "eks-managed-node-group", (20, 20)),
        ("terraform-aws-modules/eks/aws//modules/self-managed-node-group", None, "self-managed-node-group", (None, None)),
        ("git::https://github.com/terraform-aws-modules/terraform-aws-eks.git?ref=v19.21.0", None, "eks", (19, 19)),
        ("github.com/terraform-aws-modules/terraform-aws-eks//modules/eks-managed-node-group?ref=v20.1.0", None, "eks-managed-node-group", (20, 20)),
        ("terraform-google-modules/kubernetes-engine/google", "~> 31.0", "gke", (31, 31)),
        ("terraform-google-modules/kubernetes-engine/google//modules/beta-private-cluster", "30.2.0", "gke", (30, 30)),
        ("terraform-google-modules/kubernetes-engine/google//modules/private-cluster-update-variant", "~> 30.0", "gke", (30, 30)),
        ("terraform-google-modules/kubernetes-engine/google//modules/beta-autopilot-public-cluster", None, "gke-autopilot", (None, None)),
        ("Azure/aks/azurerm", "9.4.1", "aks", (9, 9)),
        ("github.com/Azure/terraform-azurerm-aks.git?ref=be5ef5c3948b6305a0913d1f00b8eadcd01e7314", None, "aks", (None, None)),
    ],
)
def test_known_module_sources(source: str, version: str | None, kind: str, majors: tuple[int | None, int | None]) -> None:
    known = recognize(source, version)
    assert known is not None and (known.kind, known.majors) == (kind, majors)


@pytest.mark.parametrize(
    "source",
    [
        "terraform-aws-modules/vpc/aws",
        "terraform-aws-modules/eks/aws//modules/karpenter",
        "terraform-google-modules/kubernetes-engine/google//modules/workload-identity",
        "./modules/eks",
        "app.terraform.io/acme/eks/aws",
    ],
)
def test_other_modules_are_not_synthesized(source: str) -> None:
    assert recognize(source, None) is None


def test_a_default_that_differs_across_allowed_versions_is_unknown() -> None:
    assert default("eks", "self_managed", "min_size", KnownModule("eks", (20, 20), "")) == 0
    assert default("eks", "self_managed", "min_size", KnownModule("eks", (21, 21), "")) == 1
    assert default("eks", "self_managed", "instance_type", KnownModule("eks", (None, None), "")) == "m6i.large"
    open_range = default("eks", "self_managed", "min_size", KnownModule("eks", (20, None), ""))
    assert isinstance(open_range, Unknown) and "differs" in open_range.causes[0]
    commit_sha = recognize("github.com/terraform-aws-modules/terraform-aws-eks?ref=0123abc", None)
    assert commit_sha is not None and isinstance(default("eks", "self_managed", "min_size", commit_sha), Unknown)
    # no version constraint: Terraform installs the latest release, whose defaults apply
    unpinned = recognize("terraform-aws-modules/eks/aws", None)
    assert unpinned is not None and unpinned.latest
    assert default("eks", "self_managed", "min_size", unpinned) == 1


def test_eks_node_group_inputs_override_the_defaults_map_which_overrides_the_module() -> None:
    known = KnownModule("eks", (20, 20), "test")
    (group,) = synthesize(known, {
        "eks_managed_node_group_defaults": {"capacity_type": "SPOT", "desired_size": 4},
        "eks_managed_node_groups": {"gpu": {"instance_types": ["g6.xlarge"], "desired_size": 2}},
    })
    assert group.values["capacity_type"] == "SPOT"
    assert group.values["scaling_config"] == [{"min_size": 1, "max_size": 3, "desired_size": 2}]
    assert group.values["instance_types"] == ["g6.xlarge"]
    assert group.module_suffix == 'module.eks_managed_node_group["gpu"]'


def test_gke_node_pools_map_of_strings_inputs_are_read() -> None:
    # older module versions type node_pools as list(map(string)): "false", "3"
    (pool,) = synthesize(KnownModule("gke", (25, 25), "test"), {
        "region": "europe-west1",
        "node_pools": [{"name": "p", "autoscaling": "false", "node_count": "3", "preemptible": "true"}],
    })
    assert pool.values["node_count"] == 3
    assert pool.values["node_config"][0]["preemptible"] is True
    assert pool.values["location"] == "europe-west1"
