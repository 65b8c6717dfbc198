"""The shared Terraform plan corpus (../shared/corpus/terraform-plans) through the whole engine.

* every plan file: run_check succeeds, nothing is silently $0, the JSON report keeps its contract;
* aws-real/: one test per case of aws-real/EXPECTED.md, asserting what that file documents;
* large/large-1k: the counts of EXPECTED.md's large/ table;
* third-party plans: the edge cases SOURCES.md points out.

Skips cleanly when ../shared is absent.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest

from tollgate.engine.check import CheckOptions, run_check
from tollgate.engine.model import Action, PurchaseOption
from tollgate.engine.terraform.plan_reader import read_plan_requests
from tollgate.integrations.cli import main
from tollgate.integrations.render_json import render_json, report_dict

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
PLANS = SHARED / "corpus" / "terraform-plans"

ALL_PLANS = sorted(p for p in PLANS.rglob("*") if p.is_file() and p.name.endswith((".json", ".json.gz"))) if PLANS.is_dir() else []

TAG_POLICY = ("team", "cost-center", "workload-class")

# DESIGN.md, "The command line and the JSON report": keys every resource carries.
RESOURCE_KEYS = {
    "address", "file", "line", "provider", "region", "kind", "action", "instance_type", "quantity",
    "quantity_min", "quantity_max", "purchase_option", "workload_class", "gpus", "hourly_usd",
    "monthly_usd", "before_monthly_usd", "delta_monthly_usd", "price", "unpriced_reason", "unknowns", "tags",
}
REPORT_KEYS = {"schema_version", "pricing", "resources", "findings", "suggestions", "totals"}
TOTALS_KEYS = {"monthly_usd", "before_monthly_usd", "delta_monthly_usd"}

_REPORTS: dict[tuple[str, tuple[tuple[str, str], ...]], dict] = {}


def report(catalog, path: Path, default_regions: dict[str, str] | None = None) -> dict:
    key = (str(path), tuple(sorted((default_regions or {}).items())))
    if key not in _REPORTS:
        options = CheckOptions(default_regions=dict(default_regions or {}))
        _REPORTS[key] = report_dict(run_check([str(path)], catalog, options))
    return _REPORTS[key]


def case(corpus, catalog, name: str) -> dict[str, dict]:
    """aws-real/<name>/plan.json -> {address (+ ' ' + component): resource dict}."""
    data = report(catalog, corpus("terraform-plans", "aws-real", name, "plan.json"))
    return keyed(data["resources"])


def keyed(resources: list[dict]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for resource in resources:
        key = resource["address"] + (f" {resource['component']}" if resource.get("component") else "")
        assert key not in found, f"{key} reported twice"
        found[key] = resource
    return found


def shape(resource: dict) -> tuple:
    return (resource["instance_type"], resource["quantity"], resource["quantity_min"], resource["quantity_max"], resource["purchase_option"])


def gpus(resource: dict) -> tuple | None:
    g = resource["gpus"]
    return None if g is None else (g["count_per_instance"], g["model"])


def missing_tags(resource: dict) -> set[str]:
    return {key for key in TAG_POLICY if key not in resource["tags"]}


def unit(catalog, region: str, instance_type: str, option: str = "on_demand") -> float:
    quote = catalog.price("aws", region, instance_type, option)
    assert hasattr(quote, "unit_hourly"), quote
    return float(quote.unit_hourly.to_decimal())


def no_price(catalog, region: str, instance_type: str, option: str) -> bool:
    return not hasattr(catalog.price("aws", region, instance_type, option), "unit_hourly")


def assert_priced(resource: dict, hourly: float) -> None:
    assert resource["unpriced_reason"] is None, resource["unpriced_reason"]
    assert resource["hourly_usd"] == pytest.approx(hourly, abs=1e-6)


def assert_unpriced(resource: dict, *words: str) -> None:
    assert resource["hourly_usd"] is None
    assert resource["monthly_usd"] is None
    reason = resource["unpriced_reason"]
    assert reason, resource["address"]
    for word in words:
        assert word in reason, reason


# --- every plan file ----------------------------------------------------------------------------


@pytest.mark.parametrize("plan_path", ALL_PLANS, ids=[str(p.relative_to(PLANS)) for p in ALL_PLANS])
def test_every_corpus_plan_is_checked_without_silent_zeros(plan_path, catalog):
    data = report(catalog, plan_path)
    assert REPORT_KEYS <= set(data)
    assert data["schema_version"] == 1
    assert TOTALS_KEYS <= set(data["totals"])
    assert data["pricing"]["mode"] == "bundled"
    for source in data["pricing"]["sources"]:
        assert source["name"] and len(source["as_of"]) == 10
    # JSON-serialisable, and the renderer writes the same document.
    assert json.loads(json.dumps(data)) == data
    assert json.loads(render_json(run_check([str(plan_path)], catalog))) == data

    for resource in data["resources"]:
        address = resource["address"]
        assert RESOURCE_KEYS <= set(resource), f"{address}: missing {RESOURCE_KEYS - set(resource)}"
        assert resource["provider"] in ("aws", "gcp", "azure", "unknown")
        assert resource["action"] in ("create", "update", "delete", "replace", "no-op")
        assert resource["purchase_option"] in ("on_demand", "spot", "reserved", "unknown")
        assert resource["workload_class"] in ("batch", "online", "unknown")
        assert isinstance(resource["unknowns"], list) and isinstance(resource["tags"], dict)
        if resource["hourly_usd"] is None:
            assert isinstance(resource["unpriced_reason"], str) and resource["unpriced_reason"].strip(), address
            assert resource["monthly_usd"] is None and resource["delta_monthly_usd"] is None
        else:
            assert resource["price"] is not None or resource["quantity"] == 0 or resource["action"] == "delete", address
            assert resource["monthly_usd"] == pytest.approx(resource["hourly_usd"] * 730, abs=0.01)
        if resource["action"] != "delete" and (resource["quantity"] or 0) > 0:
            # never a silent $0 for capacity that runs
            assert resource["hourly_usd"] is None or resource["hourly_usd"] > 0, address
        if resource["price"] is not None:
            assert resource["price"]["source"] == "bundled"
            assert resource["price"]["unit_hourly_usd"] > 0
            assert len(resource["price"]["as_of"]) == 10


# --- aws-real/EXPECTED.md, one test per case ----------------------------------------------------


def test_case_01_ec2_gpu_fleet_us_east_1(corpus, catalog):
    got = case(corpus, catalog, "ec2-gpu-fleet-us-east-1")
    expected = {
        "aws_instance.a10g_inference[0]": ("g5.xlarge", (1, "A10G"), "online"),
        "aws_instance.a10g_inference[1]": ("g5.xlarge", (1, "A10G"), "online"),
        "aws_instance.a10g_inference[2]": ("g5.xlarge", (1, "A10G"), "online"),
        'aws_instance.accelerator["a100-trainer"]': ("p4d.24xlarge", (8, "A100-40GB"), "batch"),
        'aws_instance.accelerator["l4-notebook"]': ("g6.xlarge", (1, "L4"), "online"),
        'aws_instance.accelerator["inferentia-canary"]': ("inf2.xlarge", (1, "Inferentia2"), "online"),
        "aws_instance.h100_adhoc": ("p5.48xlarge", (8, "H100-80GB"), None),
        "aws_instance.bastion": ("t3.micro", None, None),
    }
    assert set(got) == set(expected)  # for_each keys kept, each instance its own request
    for address, (instance_type, gpu, workload) in expected.items():
        resource = got[address]
        assert shape(resource) == (instance_type, 1, None, None, "on_demand"), address
        assert (resource["region"], resource["action"]) == ("us-east-1", "create")
        assert gpus(resource) == gpu, address
        if workload:
            assert resource["workload_class"] == workload
            assert missing_tags(resource) == set(), address
        assert_priced(resource, unit(catalog, "us-east-1", instance_type))
    # Totals: 20 NVIDIA GPUs (3 A10G, 8 A100, 1 L4, 8 H100) plus 1 Inferentia2.
    nvidia = sum(r["gpus"]["total"] for r in got.values() if r["gpus"] and r["gpus"]["model"] != "Inferentia2")
    assert nvidia == 20
    assert got['aws_instance.accelerator["a100-trainer"]']["workload_class"] == "batch"  # batch on on-demand
    assert missing_tags(got["aws_instance.h100_adhoc"]) == {"cost-center", "workload-class"}
    bastion = got["aws_instance.bastion"]
    assert bastion["tags"] == {} and bastion["tags_known"] is True  # unknown tags_all is not "maybe tagged"
    assert "tags" not in bastion["unknowns"]
    for instance_type in ("p5.48xlarge", "p4d.24xlarge", "g6.xlarge"):
        assert no_price(catalog, "us-east-1", instance_type, "spot"), instance_type


def test_case_02_ec2_accelerators_us_west_2(corpus, catalog):
    got = case(corpus, catalog, "ec2-accelerators-us-west-2")
    assert set(got) == {
        "aws_instance.trainium[0]", "aws_instance.trainium[1]", "aws_instance.t4_transcode",
        'aws_instance.inf2_serving["blue"]', 'aws_instance.inf2_serving["green"]', "aws_instance.g5_eval",
    }  # the S3 bucket and its versioning are not compute
    for resource in got.values():
        assert resource["region"] == "us-west-2" and resource["action"] == "create"
        assert resource["purchase_option"] == "on_demand" and resource["quantity"] == 1
        assert_priced(resource, unit(catalog, "us-west-2", resource["instance_type"]))
    for i in (0, 1):
        trainium = got[f"aws_instance.trainium[{i}]"]
        assert trainium["instance_type"] == "trn1.32xlarge"
        assert gpus(trainium) == (16, "Trainium")  # accelerators, named as what they are
        assert trainium["workload_class"] == "batch" and missing_tags(trainium) == set()
    assert sum(got[f"aws_instance.trainium[{i}]"]["gpus"]["total"] for i in (0, 1)) == 32
    t4 = got["aws_instance.t4_transcode"]
    assert (t4["instance_type"], gpus(t4), t4["workload_class"]) == ("g4dn.12xlarge", (4, "T4"), "online")
    for color in ("blue", "green"):
        inf2 = got[f'aws_instance.inf2_serving["{color}"]']
        assert (inf2["instance_type"], gpus(inf2)) == ("inf2.xlarge", (1, "Inferentia2"))
        assert missing_tags(inf2) == {"cost-center"}
    g5 = got["aws_instance.g5_eval"]
    assert (g5["instance_type"], gpus(g5)) == ("g5.12xlarge", (4, "A10G"))
    # Tag keys are reported exactly as written: an exact-key policy sees team and cost-center missing.
    assert {"Team", "CostCenter"} <= set(g5["tags"])
    assert missing_tags(g5) == {"team", "cost-center"}


def test_case_03_ec2_spot_eu_west_1(corpus, catalog):
    got = case(corpus, catalog, "ec2-spot-eu-west-1")
    assert set(got) == {
        "aws_instance.spot_trainer[0]", "aws_instance.spot_trainer[1]",
        "aws_spot_instance_request.t4_workers[0]", "aws_spot_instance_request.t4_workers[1]", "aws_spot_instance_request.t4_workers[2]",
        "aws_spot_instance_request.untagged_a10g", "aws_instance.coordinator",
    }
    for resource in got.values():
        assert resource["region"] == "eu-west-1" and resource["quantity"] == 1
    for i in (0, 1):
        trainer = got[f"aws_instance.spot_trainer[{i}]"]
        assert shape(trainer) == ("g5.2xlarge", 1, None, None, "spot")
        assert gpus(trainer) == (1, "A10G") and trainer["workload_class"] == "batch" and missing_tags(trainer) == set()
        assert_priced(trainer, unit(catalog, "eu-west-1", "g5.2xlarge", "spot"))  # not the 0.90 cap
        assert trainer["price"]["option"] == "spot"
    for i in (0, 1, 2):
        worker = got[f"aws_spot_instance_request.t4_workers[{i}]"]
        assert shape(worker) == ("g4dn.xlarge", 1, None, None, "spot")
        assert gpus(worker) == (1, "T4") and worker["workload_class"] == "batch" and missing_tags(worker) == set()
        assert_priced(worker, unit(catalog, "eu-west-1", "g4dn.xlarge", "spot"))  # spot_price 0.35 is a cap
        assert any("bid cap" in note for note in worker["notes"])
    untagged = got["aws_spot_instance_request.untagged_a10g"]
    assert shape(untagged) == ("g5.xlarge", 1, None, None, "spot")
    assert gpus(untagged) == (1, "A10G") and untagged["tags"] == {}
    assert_priced(untagged, unit(catalog, "eu-west-1", "g5.xlarge", "spot"))
    coordinator = got["aws_instance.coordinator"]
    assert shape(coordinator) == ("m6i.xlarge", 1, None, None, "on_demand")  # unknown market options = never set
    assert coordinator["gpus"] is None and coordinator["workload_class"] == "batch"
    assert "instance_market_options" not in coordinator["unknowns"]


def test_case_04_asg_launch_template_us_west_2(corpus, catalog):
    got = case(corpus, catalog, "asg-launch-template-us-west-2")
    # The launch templates and the security group are not requests.
    assert set(got) == {"aws_autoscaling_group.llm", "aws_autoscaling_group.embeddings"}
    llm = got["aws_autoscaling_group.llm"]
    assert shape(llm) == ("g5.4xlarge", 4, 2, 8, "on_demand")
    assert llm["purchase_mix"] is None  # mixed_instances_policy unknown = never set
    assert gpus(llm) == (1, "A10G") and llm["gpus"]["total"] == 4
    assert llm["gpus"]["count_per_instance"] * llm["quantity_max"] == 8
    assert missing_tags(llm) == set() and llm["workload_class"] == "online"
    assert_priced(llm, 4 * unit(catalog, "us-west-2", "g5.4xlarge"))
    embeddings = got["aws_autoscaling_group.embeddings"]
    assert shape(embeddings) == ("g6.2xlarge", 2, 1, 6, "on_demand")  # resolved by name, not the "unknown" id
    assert gpus(embeddings) == (1, "L4")
    assert embeddings["tags"] == {}
    assert_unpriced(embeddings, "g6.2xlarge", "us-west-2")


def test_case_05_asg_mixed_mostly_spot_us_east_1(corpus, catalog):
    got = case(corpus, catalog, "asg-mixed-mostly-spot-us-east-1")
    assert set(got) == {"aws_autoscaling_group.render_farm", "aws_autoscaling_group.stitchers"}
    farm = got["aws_autoscaling_group.render_farm"]
    assert farm["instance_types"] == ["g5.xlarge", "g5.2xlarge", "g6.xlarge", "g4dn.2xlarge"]
    assert (farm["quantity"], farm["quantity_min"], farm["quantity_max"]) == (20, 2, 60)
    assert farm["purchase_mix"] == {"on_demand": 3, "spot": 17}  # 1 base + ceil(10% of 19)
    assert farm["gpus"]["count_per_instance"] == 1 and farm["gpus"]["total"] == 20
    components = {(c["option"], c["instance_type"], c["count"]) for c in farm["price"]["components"]}
    spot_types = [t for t in farm["instance_types"] if not no_price(catalog, "us-east-1", t, "spot")]
    assert "g6.xlarge" not in spot_types  # no us-east-1 spot row for that override
    cheapest = min(spot_types, key=lambda t: unit(catalog, "us-east-1", t, "spot"))
    assert components == {("on_demand", "g5.xlarge", 3), ("spot", cheapest, 17)}
    assert_priced(farm, 3 * unit(catalog, "us-east-1", "g5.xlarge") + 17 * unit(catalog, "us-east-1", cheapest, "spot"))
    # The price across overrides is a range: the report says which type it priced, and why.
    assert any(cheapest in n and "cheapest" in n and "g6.xlarge" in n for n in farm["notes"])
    stitchers = got["aws_autoscaling_group.stitchers"]
    assert stitchers["instance_types"] == ["c6i.2xlarge", "c5.2xlarge"]
    assert (stitchers["quantity"], stitchers["quantity_min"], stitchers["quantity_max"]) == (6, 0, 24)
    assert stitchers["purchase_option"] == "spot" and stitchers["purchase_mix"] == {"on_demand": 0, "spot": 6}
    assert stitchers["gpus"] is None
    assert_priced(stitchers, 6 * min(unit(catalog, "us-east-1", t, "spot") for t in ("c6i.2xlarge", "c5.2xlarge")))
    for group in (farm, stitchers):
        assert missing_tags(group) == set() and group["tags"]["workload-class"] == "batch"


def test_case_06_eks_nodegroups_eu_west_1(corpus, catalog):
    got = case(corpus, catalog, "eks-nodegroups-eu-west-1")
    # The cluster (control plane), IAM roles and attachments are not nodes.
    assert set(got) == {"aws_eks_node_group.gpu_spot", "aws_eks_node_group.system", "aws_eks_node_group.gpu_inference"}
    spot = got["aws_eks_node_group.gpu_spot"]
    assert spot["instance_types"] == ["g5.2xlarge", "g5.4xlarge", "g6.2xlarge"]
    assert shape(spot)[1:] == (4, 0, 16, "spot")
    assert spot["gpus"]["count_per_instance"] == 1 and spot["workload_class"] == "batch" and missing_tags(spot) == set()
    cheapest = min(unit(catalog, "eu-west-1", t, "spot") for t in ("g5.2xlarge", "g5.4xlarge"))
    assert_priced(spot, 4 * cheapest)
    assert any("g6.2xlarge" in note for note in spot["notes"])  # no eu-west-1 row for that type
    system = got["aws_eks_node_group.system"]
    assert shape(system) == ("m6i.large", 3, 3, 5, "on_demand")
    assert system["gpus"] is None and system["workload_class"] == "online" and missing_tags(system) == set()
    assert_priced(system, 3 * unit(catalog, "eu-west-1", "m6i.large"))
    inference = got["aws_eks_node_group.gpu_inference"]
    assert shape(inference) == ("g6.xlarge", 2, 2, 10, "on_demand")  # capacity_type unset: EKS default
    assert "capacity_type" not in inference["unknowns"]
    assert gpus(inference) == (1, "L4")
    assert missing_tags(inference) == {"cost-center"}
    assert_unpriced(inference, "g6.xlarge", "eu-west-1")


def test_case_07_eks_launch_template_spot_ap_northeast_1(corpus, catalog):
    got = case(corpus, catalog, "eks-launch-template-spot-ap-northeast-1")
    assert set(got) == {"aws_eks_node_group.t4_spot", "aws_eks_node_group.a10g_parked"}  # the LT is not an instance
    t4 = got["aws_eks_node_group.t4_spot"]
    assert shape(t4) == ("g4dn.2xlarge", 5, 1, 20, "spot")  # type from the launch template, by name
    assert gpus(t4) == (1, "T4") and t4["workload_class"] == "batch" and missing_tags(t4) == set()
    assert_priced(t4, 5 * unit(catalog, "ap-northeast-1", "g4dn.2xlarge", "spot"))
    parked = got["aws_eks_node_group.a10g_parked"]
    assert shape(parked) == ("g5.12xlarge", 0, 0, 6, "on_demand")
    assert gpus(parked) == (4, "A10G") and parked["gpus"]["total"] == 0
    assert parked["gpus"]["count_per_instance"] * parked["quantity_max"] == 24  # the ceiling is still shown
    assert_priced(parked, 0.0)  # desired 0 costs $0 now: priced, not unpriced
    assert parked["price"]["unit_hourly_usd"] == pytest.approx(unit(catalog, "ap-northeast-1", "g5.12xlarge"))
    assert parked["workload_class"] == "online" and missing_tags(parked) == set()


def test_case_08_batch_spot_and_ec2_us_east_1(corpus, catalog):
    got = case(corpus, catalog, "batch-spot-and-ec2-us-east-1")
    assert set(got) == {
        "aws_batch_compute_environment.gpu_spot", "aws_batch_compute_environment.a100_ondemand", "aws_batch_compute_environment.cpu_warm",
    }  # the job queue, IAM, instance profile and security group are filler
    spot = got["aws_batch_compute_environment.gpu_spot"]
    assert spot["purchase_option"] == "spot"
    assert set(spot["instance_types"]) == {"g4dn.2xlarge", "g5.2xlarge", "g5.xlarge"}
    assert spot["capacity_vcpus"]["min"] == 0 and spot["capacity_vcpus"]["max"] == 256
    assert (spot["quantity"], spot["quantity_min"]) == (0, 0)
    assert spot["quantity_max"] in (32, 64)  # 256 vCPUs: 32 x the 8-vCPU types or 64 x g5.xlarge
    assert spot["gpus"]["count_per_instance"] == 1
    assert_priced(spot, 0.0)
    assert missing_tags(spot) == set() and spot["workload_class"] == "batch"
    a100 = got["aws_batch_compute_environment.a100_ondemand"]
    assert shape(a100) == ("p4d.24xlarge", 0, 0, 2, "on_demand")  # 192 vCPUs / 96
    assert a100["capacity_vcpus"] == {"desired": 0, "min": 0, "max": 192}
    assert gpus(a100) == (8, "A100-40GB") and a100["gpus"]["count_per_instance"] * a100["quantity_max"] == 16
    assert a100["workload_class"] == "batch" and missing_tags(a100) == set()  # batch on on-demand
    assert_priced(a100, 0.0)
    warm = got["aws_batch_compute_environment.cpu_warm"]
    assert shape(warm) == ("c6i.4xlarge", 1, 1, 4, "on_demand")  # 16 / 16 / 64 vCPUs at 16 per instance
    assert warm["capacity_vcpus"] == {"desired": 16, "min": 16, "max": 64}
    assert warm["gpus"] is None and warm["tags"] == {}
    assert_priced(warm, unit(catalog, "us-east-1", "c6i.4xlarge"))
    data = report(catalog, corpus("terraform-plans", "aws-real", "batch-spot-and-ec2-us-east-1", "plan.json"))
    assert data["totals"]["monthly_usd"] == pytest.approx(warm["monthly_usd"])  # only cpu_warm costs at rest


def test_case_09_sagemaker_endpoint_notebook_us_west_2(corpus, catalog):
    got = case(corpus, catalog, "sagemaker-endpoint-notebook-us-west-2")
    config = "aws_sagemaker_endpoint_configuration.summarizer"
    # The variants are priced once (not again for aws_sagemaker_endpoint); models and the role are filler.
    assert set(got) == {f"{config} variant v1", f"{config} variant v2", "aws_sagemaker_notebook_instance.research"}
    v1, v2 = got[f"{config} variant v1"], got[f"{config} variant v2"]
    notebook = got["aws_sagemaker_notebook_instance.research"]
    assert shape(v1) == ("ml.g5.2xlarge", 2, None, None, "on_demand")  # weight 0.8 is not a cost factor
    assert shape(v2) == ("ml.g5.12xlarge", 1, None, None, "on_demand")
    assert shape(notebook) == ("ml.g5.xlarge", 1, None, None, "on_demand")
    assert (gpus(v1), gpus(v2), gpus(notebook)) == ((1, "A10G"), (4, "A10G"), (1, "A10G"))
    for variant in (v1, v2):
        assert missing_tags(variant) == set() and variant["workload_class"] == "online"
    assert set(notebook["tags"]) & set(TAG_POLICY) == {"team"}
    for resource in got.values():
        assert resource["region"] == "us-west-2"
        # Not in the bundled catalog: unpriced with the reason, never $0 and never the EC2 g5 price.
        assert_unpriced(resource, "SageMaker")
        assert resource["price"] is None


def test_case_10_modules_gpu_workers_us_east_1(corpus, catalog):
    got = case(corpus, catalog, "modules-gpu-workers-us-east-1")
    expected = {
        'module.team_workers["nlp"].aws_instance.worker[0]': ("g5.12xlarge", (4, "A10G"), set()),
        'module.team_workers["nlp"].aws_instance.worker[1]': ("g5.12xlarge", (4, "A10G"), set()),
        'module.team_workers["cv"].aws_instance.worker[0]': ("g6.xlarge", (1, "L4"), set()),
        'module.team_workers["cv"].aws_instance.worker[1]': ("g6.xlarge", (1, "L4"), set()),
        'module.team_workers["cv"].aws_instance.worker[2]': ("g6.xlarge", (1, "L4"), set()),
        "module.platform.module.gpu_pool.aws_instance.worker[0]": ("p4d.24xlarge", (8, "A100-40GB"), {"workload-class"}),
        "module.platform.aws_instance.scheduler": ("m6i.large", None, set()),
    }
    assert set(got) == set(expected)  # full module paths kept; the S3 bucket is filler
    for address, (instance_type, gpu, missing) in expected.items():
        resource = got[address]
        assert shape(resource) == (instance_type, 1, None, None, "on_demand"), address
        assert resource["region"] == "us-east-1"  # inherited from the root provider
        assert gpus(resource) == gpu and missing_tags(resource) == missing, address
        assert_priced(resource, unit(catalog, "us-east-1", instance_type))
    by_model: dict[str, float] = {}
    for resource in got.values():
        if resource["gpus"]:
            by_model[resource["gpus"]["model"]] = by_model.get(resource["gpus"]["model"], 0) + resource["gpus"]["total"]
    assert by_model == {"A10G": 8, "L4": 3, "A100-40GB": 8}
    assert got['module.team_workers["nlp"].aws_instance.worker[0]']["workload_class"] == "batch"
    assert got['module.team_workers["cv"].aws_instance.worker[0]']["workload_class"] == "online"
    assert got["module.platform.aws_instance.scheduler"]["workload_class"] == "online"


def test_case_11_vars_from_cli_ap_northeast_1(corpus, catalog):
    got = case(corpus, catalog, "vars-from-cli-ap-northeast-1")
    assert set(got) == {f"aws_instance.worker[{i}]" for i in range(4)} | {"aws_instance.reranker[0]", "aws_instance.reranker[1]"}
    for i in range(4):
        worker = got[f"aws_instance.worker[{i}]"]
        assert shape(worker) == ("g5.2xlarge", 1, None, None, "spot")  # dynamic instance_market_options switched on
        assert gpus(worker) == (1, "A10G") and worker["workload_class"] == "online" and missing_tags(worker) == set()
        assert_priced(worker, unit(catalog, "ap-northeast-1", "g5.2xlarge", "spot"))
    for i in range(2):
        reranker = got[f"aws_instance.reranker[{i}]"]
        assert shape(reranker) == ("g4dn.xlarge", 1, None, None, "on_demand")
        assert gpus(reranker) == (1, "T4") and reranker["workload_class"] == "online"
        assert_priced(reranker, unit(catalog, "ap-northeast-1", "g4dn.xlarge"))
    assert all(r["region"] == "ap-northeast-1" for r in got.values())
    plan = json.loads(corpus("terraform-plans", "aws-real", "vars-from-cli-ap-northeast-1", "plan.json").read_text())
    assert plan["variables"]["worker_count"]["value"] == "4"  # -var values are strings in the plan


def test_case_12_diff_update_replace_delete_us_east_1(corpus, catalog):
    got = case(corpus, catalog, "diff-update-replace-delete-us-east-1")
    # The EKS cluster and IAM roles are no-op filler, not requests.
    assert set(got) == {
        "aws_instance.ranker", "aws_instance.trainer", "aws_instance.legacy_v100", "aws_instance.l4_batch[0]",
        "aws_instance.l4_batch[1]", "aws_eks_node_group.gpu", "aws_instance.feature_store",
    }
    price = lambda t: unit(catalog, "us-east-1", t)  # noqa: E731
    month = lambda hourly: round(hourly * 730, 2)  # noqa: E731

    ranker = got["aws_instance.ranker"]
    assert ranker["action"] == "update"
    assert (ranker["before"]["instance_type"], ranker["instance_type"]) == ("g5.xlarge", "g5.12xlarge")
    assert gpus(ranker) == (4, "A10G")
    assert ranker["delta_monthly_usd"] == pytest.approx(month(price("g5.12xlarge") - price("g5.xlarge")), abs=0.01)
    assert ranker["delta_monthly_usd"] > 0

    trainer = got["aws_instance.trainer"]
    assert trainer["action"] == "replace"
    assert (trainer["before"]["instance_type"], trainer["instance_type"]) == ("g5.xlarge", "g5.xlarge")
    assert trainer["delta_monthly_usd"] == 0  # same type: not a cost change
    assert trainer["monthly_usd"] == pytest.approx(month(price("g5.xlarge")))

    legacy = got["aws_instance.legacy_v100"]
    assert legacy["action"] == "delete" and legacy["instance_type"] == "p3.2xlarge"
    assert gpus(legacy) == (1, "V100-16GB")
    assert legacy["hourly_usd"] == 0
    assert legacy["delta_monthly_usd"] == pytest.approx(-month(price("p3.2xlarge")), abs=0.01)

    for i in (0, 1):
        l4 = got[f"aws_instance.l4_batch[{i}]"]
        assert l4["action"] == "create" and shape(l4) == ("g6.xlarge", 1, None, None, "on_demand")
        assert gpus(l4) == (1, "L4")
        assert l4["delta_monthly_usd"] == pytest.approx(month(price("g6.xlarge")))

    eks = got["aws_eks_node_group.gpu"]
    assert eks["action"] == "update"
    assert shape(eks) == ("g5.2xlarge", 6, 1, 10, "on_demand")
    assert eks["before"]["quantity"] == 2
    assert eks["gpus"]["total"] == 6
    assert eks["delta_monthly_usd"] == pytest.approx(month(4 * price("g5.2xlarge")), abs=0.01)

    store = got["aws_instance.feature_store"]
    assert store["action"] == "no-op" and store["instance_type"] == "r6i.2xlarge"
    assert store["delta_monthly_usd"] == 0
    assert store["monthly_usd"] == store["before_monthly_usd"] == pytest.approx(month(price("r6i.2xlarge")))

    totals = report(catalog, corpus("terraform-plans", "aws-real", "diff-update-replace-delete-us-east-1", "plan.json"))["totals"]
    assert totals["unpriced_resources"] == 0
    assert totals["delta_monthly_usd"] == pytest.approx(sum(r["delta_monthly_usd"] for r in got.values()), abs=0.05)
    # the no-op stays in the running total, before and after
    assert totals["monthly_usd"] == pytest.approx(sum(r["monthly_usd"] for r in got.values()), abs=0.05)


def test_case_13_filler_with_compute_eu_west_1(corpus, catalog):
    got = case(corpus, catalog, "filler-with-compute-eu-west-1")
    assert set(got) == {"aws_instance.api", "aws_instance.ocr_gpu"}  # no filler (EBS, VPC, IAM...) becomes a request
    api, ocr = got["aws_instance.api"], got["aws_instance.ocr_gpu"]
    assert shape(api) == ("t3.large", 1, None, None, "on_demand") and api["gpus"] is None
    assert shape(ocr) == ("g4dn.xlarge", 1, None, None, "on_demand") and gpus(ocr) == (1, "T4")
    for resource in (api, ocr):
        assert resource["region"] == "eu-west-1" and resource["workload_class"] == "online"
        assert missing_tags(resource) == set()
        assert {"environment", "managed-by"} <= set(resource["tags"])  # provider default_tags
        assert_priced(resource, unit(catalog, "eu-west-1", resource["instance_type"]))


def test_case_14_no_compute_ap_northeast_1(corpus, catalog, capsys):
    path = corpus("terraform-plans", "aws-real", "no-compute-ap-northeast-1", "plan.json")
    assert read_plan_requests(str(path)) == []
    assert main(["check", str(path), "--format", "json"]) == 0  # an empty result is not an error
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["resources"] == [] and err == ""
    assert data["totals"]["monthly_usd"] == 0 and data["totals"]["delta_monthly_usd"] == 0


def test_case_15_odd_region_af_south_1(corpus, catalog):
    got = case(corpus, catalog, "odd-region-af-south-1")
    assert set(got) == {"aws_instance.t4_edge[0]", "aws_instance.t4_edge[1]", "aws_instance.t4_quad", "aws_instance.a10g_trial"}
    for resource in got.values():
        assert resource["region"] == "af-south-1" and resource["purchase_option"] == "on_demand"
        assert resource["workload_class"] == "online" and missing_tags(resource) == set()
    for i in (0, 1):
        edge = got[f"aws_instance.t4_edge[{i}]"]
        assert edge["instance_type"] == "g4dn.xlarge" and gpus(edge) == (1, "T4")
        assert_priced(edge, unit(catalog, "af-south-1", "g4dn.xlarge"))
    quad = got["aws_instance.t4_quad"]
    assert quad["instance_type"] == "g4dn.12xlarge" and gpus(quad) == (4, "T4")
    assert_priced(quad, unit(catalog, "af-south-1", "g4dn.12xlarge"))
    trial = got["aws_instance.a10g_trial"]
    assert trial["instance_type"] == "g5.xlarge" and gpus(trial) == (1, "A10G")
    assert_unpriced(trial, "g5.xlarge", "af-south-1")
    # The prices come from the all-regions data (prices.csv, the major-region subset, has no af-south-1 row).
    pricing = SHARED / "pricing"
    if (pricing / "prices_all_regions.csv.gz").is_file() and (pricing / "prices.csv").is_file():
        assert ",af-south-1," not in (pricing / "prices.csv").read_text()
        with gzip.open(pricing / "prices_all_regions.csv.gz", "rt", encoding="utf-8") as handle:
            header = handle.readline()
            lines = [line for line in handle if line.startswith("aws,af-south-1,")]
        rows = csv.DictReader(io.StringIO(header + "".join(lines)))
        wanted = {r["instance_type"]: float(r["usd_per_hour"]) for r in rows
                  if r["pricing_model"] == "on_demand" and r["os"] == "linux"
                  and r["instance_type"] in ("g4dn.xlarge", "g4dn.12xlarge", "g5.xlarge")}
        assert "g5.xlarge" not in wanted
        assert got["aws_instance.t4_edge[0]"]["hourly_usd"] == pytest.approx(wanted["g4dn.xlarge"])
        assert quad["hourly_usd"] == pytest.approx(wanted["g4dn.12xlarge"])


# --- large/ -------------------------------------------------------------------------------------


def test_large_1k_plan_agrees_with_expected_counts(corpus, catalog):
    path = corpus("terraform-plans", "aws-real", "large", "large-1k", "plan.json")
    requests = read_plan_requests(str(path))
    assert all(r.action is Action.CREATE for r in requests)
    by_kind: dict[str, list] = {}
    for request in requests:
        by_kind.setdefault(request.kind, []).append(request)
    assert {k: len(v) for k, v in by_kind.items()} == {
        "aws_instance": 400, "aws_spot_instance_request": 50, "aws_autoscaling_group": 50, "aws_eks_node_group": 50,
    }  # launch templates, S3, IAM roles and security groups are not requests
    instances = by_kind["aws_instance"]
    assert sum(r.region == "us-east-1" for r in instances) == 280
    assert sum(r.region == "eu-west-1" for r in instances) == 120
    assert all(r.region == "us-east-1" for r in instances if r.address.startswith("aws_instance.fleet["))
    assert all(r.region == "eu-west-1" for r in instances if r.address.startswith("aws_instance.fleet_eu["))
    assert sum(r.purchase_option is PurchaseOption.SPOT for r in instances) == 80
    assert sum(not set(TAG_POLICY) <= set(r.tags) for r in instances) == 54
    assert all(r.purchase_option is PurchaseOption.SPOT for r in by_kind["aws_spot_instance_request"])
    groups = by_kind["aws_autoscaling_group"]
    assert sum(r.quantity.desired for r in groups) == 194
    assert sum(r.purchase_mix is not None for r in groups) == 17
    node_groups = by_kind["aws_eks_node_group"]
    assert sum(r.purchase_option is PurchaseOption.SPOT for r in node_groups) == 25
    assert sum(r.quantity.desired for r in node_groups) == 100

    data = report(catalog, path)
    assert len(data["resources"]) == 550
    for resource in data["resources"]:
        assert resource["hourly_usd"] is not None or resource["unpriced_reason"], resource["address"]


# --- third-party plans (SOURCES.md notes) -------------------------------------------------------


def test_terracost_plan_without_region_is_unpriced_until_a_default_is_given(corpus, catalog):
    path = corpus("terraform-plans", "aws", "terracost_terraform_plan_no_region.json")
    [resource] = report(catalog, path)["resources"]
    assert resource["address"] == "module.nexus.aws_instance.nexus"
    assert resource["instance_type"] == "t3a.medium"
    assert resource["region"] is None and "region" in resource["unknowns"]
    assert_unpriced(resource, "region")
    [defaulted] = report(catalog, path, {"aws": "us-east-1"})["resources"]
    assert defaulted["region"] == "us-east-1"
    assert_priced(defaulted, unit(catalog, "us-east-1", "t3a.medium"))
    assert any("default_region" in note and "us-east-1" in note for note in defaulted["notes"])


def test_tfcompliance_sagemaker_notebook_plan_without_resource_changes_is_read_from_planned_values(corpus, catalog):
    path = corpus("terraform-plans", "aws", "tfcompliance_issue132_sagemaker_notebook.json")
    assert "resource_changes" not in json.loads(path.read_text())
    [request] = read_plan_requests(str(path))
    assert (request.address, request.kind, request.instance_type) == ("aws_sagemaker_notebook_instance.foo", "aws_sagemaker_notebook_instance", "ml.t2.medium")
    assert request.action is Action.CREATE
    assert any("planned_values" in note for note in request.notes)
    [resource] = report(catalog, path)["resources"]
    assert resource["hourly_usd"] is None and resource["unpriced_reason"]


def test_zodiac_aks_lowercase_vm_size_is_priced(corpus, catalog):
    path = corpus("terraform-plans", "azure", "zodiac_azure-k8s-flask-app-main_azure-aks.json")
    [resource] = report(catalog, path)["resources"]
    assert resource["instance_type"] == "standard_b2ms"
    assert (resource["region"], resource["quantity"], resource["purchase_option"]) == ("northeurope", 2, "on_demand")
    quote = catalog.price("azure", "northeurope", "Standard_B2ms", "on_demand")
    assert_priced(resource, 2 * float(quote.unit_hourly.to_decimal()))


def test_terraform_0_12_plan_is_read(corpus, catalog):
    path = corpus("terraform-plans", "aws", "checkov_runner_plan_55res_tf0.12.json")
    assert json.loads(path.read_text())["terraform_version"].startswith("0.12")
    resources = keyed(report(catalog, path)["resources"])
    assert set(resources) == {"aws_instance.db_app", "aws_instance.web_host"}
    for resource in resources.values():
        assert shape(resource) == ("t2.nano", 1, None, None, "on_demand")
        assert resource["region"] == "us-west-2"
        assert_priced(resource, unit(catalog, "us-west-2", "t2.nano"))


def test_gcp_n1_with_guest_accelerators(corpus, catalog):
    path = corpus("terraform-plans", "gcp", "tfvalidator_full_compute_instance.json")
    resources = keyed(report(catalog, path)["resources"])
    with_gpus = resources["google_compute_instance.full_list_default_1"]
    assert (with_gpus["instance_type"], with_gpus["region"], with_gpus["purchase_option"]) == ("n1-standard-1", "us-central1", "spot")
    assert with_gpus["gpus"]["count_per_instance"] == 84  # two guest_accelerator blocks of 42
    assert_unpriced(with_gpus, "test-guest_accelerator-type1")  # a made-up accelerator type: no price, no $0
    plain = resources["google_compute_instance.full_list_default_2"]
    assert (plain["instance_type"], plain["purchase_option"], plain["gpus"]) == ("n1-standard-1", "on_demand", None)
    quote = catalog.price("gcp", "us-central1", "n1-standard-1", "on_demand")
    assert_priced(plain, float(quote.unit_hourly.to_decimal()))


@pytest.mark.parametrize(
    "name",
    ["zodiac_web-infra-stack-main.json", "zodiac_zen-web-infra-stack-main.json", "zodiac_zenzprjext-master.json"],
)
def test_windows_azure_vms_are_unpriced_with_a_linux_only_reason(corpus, catalog, name):
    resources = report(catalog, corpus("terraform-plans", "azure", name))["resources"]
    assert len(resources) == 3
    for resource in resources:
        assert resource["kind"] in ("azurerm_windows_virtual_machine", "azurerm_virtual_machine")
        assert resource["operating_system"] == "windows"
        assert resource["region"]
        assert_unpriced(resource, "Linux", "windows")
