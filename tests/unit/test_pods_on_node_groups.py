"""Pods scheduled on a Terraform node group of the same check (`engine.node_group_links`): they run
on nodes the change already prices, so they take the group's type, region and purchase option, say
so in `runs_on`, have no price of their own, are not `unpriced`, and add nothing to the totals (nor
their GPUs to the GPU count, nor anything to budgets / GPUs per change). Pods that are not linked
are priced (or unpriced) exactly as before.

Prices (bundled catalog, aws us-east-1, linux on-demand): p4d.24xlarge, 8 x A100-40GB, 96 vCPU,
1152 GiB, $21.957642/h. The node group: 4 nodes = $87.830568/h = $64,116.31/month (x 730).
A pod of 2 GPUs priced on its own is 2/8 of a node: 6 pods = 1.5 x 21.957642 = $32.936463/h.
"""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tollgate.engine.check import CheckOptions, run_check
from tollgate.engine.config_loader import compose, parse_policy_file
from tollgate.engine.hcl.reader import read_hcl_requests
from tollgate.engine.kubernetes.reader import read_manifest_requests
from tollgate.engine.node_group_links import link_pods, place_on_node_groups
from tollgate.engine.pricing import price_requests
from tollgate.engine.report import Report
from tollgate.integrations.cli import main
from tollgate.integrations.render_json import report_dict
from tollgate.integrations.render_table import render_table
from tollgate.providers.bundled import BundledCatalog

CATALOG = BundledCatalog()
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "eks-gpu-node-group"
GROUP = "aws_eks_node_group.a100"
POD = "Deployment/inference/model-server"

MAIN_TF = """\
provider "aws" {
  region = "us-east-1"
}

resource "aws_eks_node_group" "a100" {
  cluster_name    = "inference"
  node_group_name = "a100"
  node_role_arn   = "arn:aws:iam::123456789012:role/eks-node"
  subnet_ids      = ["subnet-1"]
  instance_types  = ["p4d.24xlarge"]
  capacity_type   = "ON_DEMAND"
  scaling_config {
    desired_size = 4
    min_size     = 1
    max_size     = 8
  }
}
"""


def manifest(selector: dict[str, str] | None, gpus: int = 2, replicas: int = 6) -> str:
    node_selector = f"\n      nodeSelector: {json.dumps(selector)}" if selector else ""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: model-server, namespace: inference}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: model-server}}}}
  template:
    metadata: {{labels: {{app: model-server}}}}
    spec:{node_selector}
      containers:
        - name: server
          image: x
          resources:
            requests: {{cpu: "10", memory: 120Gi}}
            limits: {{nvidia.com/gpu: {gpus}}}
"""


ON_GROUP = {"eks.amazonaws.com/nodegroup": "a100"}


def change(tmp_path: Path, pods: str | None, terraform: bool = True) -> Path:
    """A directory under tmp_path with the node group (unless terraform=False) and the pods."""
    directory = tmp_path / ("change" if terraform else "pods-alone")
    (directory / "k8s").mkdir(parents=True)
    if terraform:
        (directory / "main.tf").write_text(MAIN_TF)
    if pods is not None:
        (directory / "k8s" / "model-server.yaml").write_text(pods)
    return directory


def policies(text: str) -> Any:
    return compose(parse_policy_file("tollgate.yaml", textwrap.dedent(text)), "tollgate.yaml")


def check(directory: Path, config: Any = None, regions: dict[str, str] | None = None) -> tuple[Report, dict[str, Any]]:
    report = run_check([str(directory)], CATALOG, CheckOptions(config=config, default_regions=dict(regions or {})))
    return report, report_dict(report)


def resource(report: dict[str, Any], address: str) -> dict[str, Any]:
    (found,) = [r for r in report["resources"] if r["address"] == address]
    return found


# --- linked pods -----------------------------------------------------------------------------------


def test_the_example_pod_runs_on_its_node_group_and_is_counted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    report, data = check(EXAMPLE.relative_to(REPO), policies("version: 1\npolicies: []\n"))
    pod = resource(data, POD)
    assert pod["runs_on"] == GROUP
    assert (pod["instance_type"], pod["region"], pod["purchase_option"]) == ("p4d.24xlarge", "us-east-1", "on_demand")
    assert pod["region_source"] == f"node group {GROUP}"
    assert pod["hourly_usd"] is None and pod["monthly_usd"] is None and pod["delta_monthly_usd"] is None
    assert pod["price"] is None and pod["unpriced_reason"] is None
    assert pod["gpus"] == {"count_per_instance": 2.0, "model": "A100-40GB", "kind": "gpu", "memory_gib": 40.0, "total": 12.0}
    assert (
        f"runs on {GROUP} of this change (p4d.24xlarge × 4): its nodes are priced there, so the pods add nothing to the totals"
        in pod["notes"]
    )
    group = resource(data, GROUP)
    assert group["runs_on"] is None and group["hourly_usd"] == 87.830568 and group["monthly_usd"] == 64116.31
    # The totals are the node group's alone, and its 32 GPUs are the only GPUs (the pods' 12 are among them).
    totals = data["totals"]
    assert (totals["monthly_usd"], totals["before_monthly_usd"], totals["delta_monthly_usd"]) == (64116.31, 0.0, 64116.31)
    assert totals["unpriced_resources"] == 0 and totals["gpus"] == 32.0
    assert report.totals().on_node_groups == 1
    assert not [f for f in data["findings"] if f["policy_id"] == "unpriced"]
    # The node group's packing still sees the pods: 2 of the 4 nodes hold them.
    (packing,) = [s for s in data["suggestions"] if s["kind"] == "packing"]
    assert packing["address"] == GROUP and packing["monthly_savings_usd"] == 32058.16
    assert totals["possible_savings_monthly_usd"] == 32058.16


def test_a_linked_pod_that_could_be_priced_on_its_own_is_still_not_counted_twice(tmp_path: Path) -> None:
    # Naming their instance type too, with a default region the pods alone are priced as 2/8 of a
    # p4d each ($32.936463/h); linked, their nodes are the group's: the totals stay the group's.
    selector = ON_GROUP | {"node.kubernetes.io/instance-type": "p4d.24xlarge"}
    directory = change(tmp_path, manifest(selector))
    _, alone = check(change(tmp_path, manifest(selector), terraform=False), regions={"aws": "us-east-1"})
    assert resource(alone, POD)["hourly_usd"] == 32.936463 and resource(alone, POD)["runs_on"] is None
    _, data = check(directory, regions={"aws": "us-east-1"})
    pod = resource(data, POD)
    assert pod["runs_on"] == GROUP and pod["hourly_usd"] is None and pod["unpriced_reason"] is None
    assert not any("default_region" in note or "priced as" in note for note in pod["notes"])
    assert data["totals"]["monthly_usd"] == 64116.31 and data["totals"]["gpus"] == 32.0


def test_budgets_and_gpus_per_change_count_the_group_once(tmp_path: Path) -> None:
    # The group is 32 GPUs and $64,116.31/month; counting the pods as well would make 44 GPUs
    # (over 40) and name them as "unpriced request(s) not counted" in the budget finding.
    config = policies("""\
        version: 1
        policies:
          - {id: gpus, type: instance_type, max_gpus_per_change: 40}
          - {id: budget, type: budget, monthly_limit_usd: 50000}
        """)
    _, data = check(change(tmp_path, manifest(ON_GROUP)), config)
    ids = [f["policy_id"] for f in data["findings"]]
    assert "gpus" not in ids and "unpriced" not in ids
    (budget,) = [f for f in data["findings"] if f["policy_id"] == "budget"]
    assert "$64,116/month" in budget["message"] and "unpriced" not in budget["message"] and POD not in budget["message"]


def test_type_gpu_model_and_region_policies_name_the_group_not_its_pods_too(tmp_path: Path) -> None:
    config = policies("""\
        version: 1
        policies:
          - {id: no-p4d, type: instance_type, deny: ["p4d.*"], gpu_models_deny: ["A100*"]}
          - {id: eu-only, type: region, allow: {aws: ["eu-*"]}}
        """)
    _, data = check(change(tmp_path, manifest(ON_GROUP)), config)
    by_policy = {(f["policy_id"], f["address"]) for f in data["findings"]}
    assert ("no-p4d", GROUP) in by_policy and ("eu-only", GROUP) in by_policy
    assert not [f for f in data["findings"] if f["address"] == POD]


def test_a_linked_pod_that_fits_no_node_of_the_group_is_unpriced_with_that_reason(tmp_path: Path) -> None:
    _, data = check(change(tmp_path, manifest(ON_GROUP, gpus=16)), policies("version: 1\npolicies: []\n"))
    pod = resource(data, POD)
    assert pod["runs_on"] is None and pod["hourly_usd"] is None
    assert pod["unpriced_reason"].startswith(
        f"fits no node of {GROUP}, the node group it is scheduled on: the pod asks for 16 nvidia.com/gpu but it has 8"
    )
    assert [f["address"] for f in data["findings"] if f["policy_id"] == "unpriced"] == [POD]
    assert data["totals"]["unpriced_resources"] == 1


def test_placing_keeps_the_links_pointing_at_the_placed_requests(tmp_path: Path) -> None:
    directory = change(tmp_path, manifest(ON_GROUP))
    requests = read_hcl_requests(str(directory)) + read_manifest_requests(str(directory / "k8s" / "model-server.yaml"), None)
    priced = price_requests(requests, CATALOG, {}, 730)
    placed, links = place_on_node_groups(priced, link_pods(priced, CATALOG), CATALOG)
    assert [p.request.address for p in placed] == [p.request.address for p in priced]
    group = next(p for p in placed if p.request.address == GROUP)
    assert group is next(p for p in priced if p.request.address == GROUP)  # the group itself is not touched
    pod = next(p for p in placed if p.request.address == POD)
    assert links.pods_on(group.request) == (pod,) and links.is_linked(pod.request)
    assert pod.runs_on == GROUP and pod.after.hourly is None and pod.after.unpriced_reason is None


def test_run_check_links_once_and_hands_the_links_to_the_suggestions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tollgate.engine.node_group_links as node_group_links
    import tollgate.engine.suggest as suggest

    calls: list[int] = []
    real = node_group_links.link_pods

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(node_group_links, "link_pods", counting)
    monkeypatch.setattr(suggest, "link_pods", counting)
    _, data = check(change(tmp_path, manifest(ON_GROUP)))
    assert len(calls) == 1
    assert [s["monthly_savings_usd"] for s in data["suggestions"] if s["kind"] == "packing"] == [32058.16]


# --- pods that are not linked: as before -----------------------------------------------------------


def test_a_pod_without_node_requirements_is_reported_as_before(tmp_path: Path) -> None:
    # Without a selector it might run anywhere: not linked, and reported exactly as when it is checked alone.
    _, alone = check(change(tmp_path, manifest(None), terraform=False))
    _, data = check(change(tmp_path, manifest(None)), policies("version: 1\npolicies: []\n"))
    pod = resource(data, POD)
    assert pod["runs_on"] is None and pod["hourly_usd"] is None and pod["unpriced_reason"]
    assert {k: v for k, v in pod.items() if k != "file"} == {k: v for k, v in resource(alone, POD).items() if k != "file"}
    assert [f["address"] for f in data["findings"] if f["policy_id"] == "unpriced"] == [POD]
    assert data["totals"]["unpriced_resources"] == 1 and data["totals"]["monthly_usd"] == 64116.31
    assert data["totals"]["gpus"] == 32.0 + 12.0  # its nodes are not in the change: its GPUs count


def test_an_unlinked_priced_pod_is_still_priced_and_counted(tmp_path: Path) -> None:
    # Naming only an instance type, the pods could land on p4d nodes the change does not show: not
    # linked, priced as 2/8 of a p4d each, and added to the totals as before.
    _, data = check(change(tmp_path, manifest({"node.kubernetes.io/instance-type": "p4d.24xlarge"})), regions={"aws": "us-east-1"})
    pod = resource(data, POD)
    assert pod["runs_on"] is None and pod["hourly_usd"] == 32.936463
    # (87.830568 + 32.936463) x 730 = 88,159.93263
    assert data["totals"]["monthly_usd"] == 88159.93 and data["totals"]["unpriced_resources"] == 0


# --- renderers -------------------------------------------------------------------------------------


def test_table_shows_the_pod_on_its_node_group_not_unpriced(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    code = main(["check", str(EXAMPLE.relative_to(REPO)), "--format", "table"])
    out = capsys.readouterr().out
    assert code == 0
    (row,) = [line for line in out.splitlines() if POD in line and line.startswith("│")]
    assert row.count("on group") == 3 and "unpriced" not in row  # $/hour, $/month and Δ
    assert f"on node group {GROUP}" in out
    assert "not priced" not in out and "unpriced" not in out
    assert "2 compute requests, 1 on a node group of this change, 32 GPUs" in out
    assert "$64,116.31 after" in out


def test_table_and_text_still_say_unpriced_for_an_unlinked_pod(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = change(tmp_path, manifest(None))
    report, _ = check(directory)
    stream = io.StringIO()
    render_table(report, stream, width=200, color=False)
    table = stream.getvalue()
    (row,) = [line for line in table.splitlines() if POD in line and line.startswith("│")]
    assert row.count("unpriced") == 2 and "on group" not in row
    assert "1 not priced" in table and "on a node group" not in table
    assert main(["check", str(directory), "--format", "text", "--fail-on", "never"]) == 0
    assert ", 1 unpriced," in capsys.readouterr().out


def test_text_summary_counts_pods_on_node_groups_apart_from_unpriced(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    assert main(["check", str(EXAMPLE.relative_to(REPO)), "--format", "text"]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.startswith("tollgate: 2 requests, 1 on a node group of this change, $64,116.31/month after (+$64,116.31)")
    assert "unpriced" not in summary
