"""Pods (packing on whole nodes), the usage file, and the doors: CLI flags, JSON contract, text and
table output, exit codes."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "kubernetes"))

import k8s_helpers
from suggest_helpers import CATALOG, HOURS, kinds

from tollgate.engine.errors import InputError
from tollgate.engine.suggest import suggest, usage_findings
from tollgate.engine.suggest.usage import Usage, load_usage
from tollgate.integrations.cli import main

REPO = Path(__file__).resolve().parents[2]


def _deployment(instance_type: str, gpus: int, replicas: int, workload: str) -> str:
    return f"""
    apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: trainer, namespace: ml, labels: {{workload-class: {workload}}}}}
    spec:
      replicas: {replicas}
      template:
        spec:
          nodeSelector: {{node.kubernetes.io/instance-type: {instance_type}}}
          containers:
            - name: c
              image: x
              resources:
                requests: {{cpu: "4", memory: 16Gi, nvidia.com/gpu: {gpus}}}
                limits: {{nvidia.com/gpu: {gpus}}}
    """


def _pods(tmp_path: Path, instance_type: str, provider: str, region: str, gpus: int, replicas: int, workload: str = "online"):  # type: ignore[no-untyped-def]
    items = k8s_helpers.priced(tmp_path, _deployment(instance_type, gpus, replicas, workload), CATALOG, cluster={"provider": provider, "region": region})
    return suggest(items, CATALOG, None, HOURS, "default")


def test_packing_gcp_pods_pinned_to_an_8_gpu_node(tmp_path: Path) -> None:
    # 3 pods x 1 A100 on a2-highgpu-8g: one whole node 29.38708 -> 3 x a2-highgpu-1g 3.673385 = 11.020155;
    # (29.38708 - 11.020155) x 730 = 13407.86
    s = kinds(_pods(tmp_path, "a2-highgpu-8g", "gcp", "us-central1", 1, 3, "batch"))["packing"]
    assert s.from_["quantity"] == 1 and s.from_["hourly_usd"] == 29.38708
    assert s.to == {
        "instance_type": "a2-highgpu-1g", "quantity": 3, "purchase_option": "on_demand", "region": "us-central1",
        "provider": "gcp", "hourly_usd": 11.020155, "monthly_usd": 8044.71,
    }
    assert s.monthly_savings.rounded(2) == 13407.86
    assert "5 GPUs idle" in s.rationale


def test_packing_azure_pods(tmp_path: Path) -> None:
    # 2 pods x 1 A100-80GB on Standard_NC96ads_A100_v4 (4 GPUs) 14.692 -> 2 x NC24ads 3.673: 7.346 x 730 = 5362.58
    s = kinds(_pods(tmp_path, "Standard_NC96ads_A100_v4", "azure", "eastus", 1, 2))["packing"]
    assert s.to["instance_type"] == "Standard_NC24ads_A100_v4" and s.to["quantity"] == 2
    assert s.monthly_savings.rounded(2) == 5362.58


def test_no_packing_when_pods_fill_their_nodes(tmp_path: Path) -> None:
    # 4 pods x 2 GPUs fill one a2-highgpu-8g exactly
    assert "packing" not in kinds(_pods(tmp_path, "a2-highgpu-8g", "gcp", "us-central1", 2, 4))


def test_pods_are_never_rightsized_onto_a_bigger_node(tmp_path: Path) -> None:
    found = _pods(tmp_path, "a2-highgpu-8g", "gcp", "us-central1", 1, 3, "batch")
    assert "rightsize" not in kinds(found)


# --- usage file ------------------------------------------------------------------------------------


def test_usage_yaml_and_csv(tmp_path: Path) -> None:
    yaml_file = tmp_path / "usage.yaml"
    yaml_file.write_text("aws_instance.api: {cpu: 12, memory: '25%'}\n'Deployment/ml/web': {gpu: 95}\n")
    csv_file = tmp_path / "usage.csv"
    csv_file.write_text("address,cpu,memory,gpu,gpu_memory\naws_instance.api,12,25,,\n")
    assert load_usage(str(yaml_file)) == {
        "aws_instance.api": Usage(cpu=12, memory=25),
        "Deployment/ml/web": Usage(gpu=95),
    }
    assert load_usage(str(csv_file)) == {"aws_instance.api": Usage(cpu=12, memory=25)}


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("bad.yaml", "[1, 2]\n", "expected a mapping"),
        ("bad.yaml", "a: {cpu: 150}\n", "outside 0-100"),
        ("bad.yaml", "a: {cpu: lots}\n", "must be a percentage"),
        ("bad.yaml", "a: {disk: 3}\n", "unknown key"),
        ("bad.yaml", "a: [\n", "not valid YAML/JSON"),
        ("bad.csv", "name,cpu\nx,3\n", "'address' column"),
        ("bad.json", "{", "not valid YAML/JSON"),
    ],
)
def test_bad_usage_file_is_an_input_error(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as error:
        load_usage(str(path))
    assert problem in str(error.value) and str(path) in str(error.value)


def _plan(tmp_path: Path) -> Path:
    plan = {
        "format_version": "1.2",
        "configuration": {"provider_config": {"aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"}}}}},
        "resource_changes": [
            {
                "address": "aws_instance.api",
                "mode": "managed",
                "type": "aws_instance",
                "name": "api",
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "change": {"actions": ["create"], "before": None, "after": {"instance_type": "m5.4xlarge", "tags": {"workload-class": "batch"}}},
            }
        ],
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def test_cli_usage_flag_downsizes_and_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan(tmp_path)
    usage = tmp_path / "usage.csv"
    usage.write_text("address,cpu,memory\naws_instance.api,10,95\n")
    code = main(["check", str(plan), "--format", "json", "--usage", str(usage), "--fail-on", "error"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    high = [f for f in report["findings"] if f["policy_id"] == "utilisation-high"]
    assert len(high) == 1 and high[0]["severity"] == "warning" and "memory 95%" in high[0]["message"]
    assert {s["kind"] for s in report["suggestions"]} >= {"spot"}


def test_cli_bad_usage_file_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan(tmp_path)
    usage = tmp_path / "usage.yaml"
    usage.write_text("aws_instance.api: {cpu: 300}\n")
    code = main(["check", str(plan), "--usage", str(usage)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(usage) in err[0]
    assert main(["check", str(plan), "--usage", str(tmp_path / "missing.yaml")]) == 2


def test_usage_findings_only_over_90_percent() -> None:
    from suggest_helpers import priced, request

    items = priced(request("aws_instance.a", "aws", "us-east-1", "m5.xlarge", 1), request("aws_instance.b", "aws", "us-east-1", "m5.xlarge", 1))
    found = usage_findings(items, {"aws_instance.a": Usage(cpu=91), "aws_instance.b": Usage(cpu=90)})
    assert [f.address for f in found] == ["aws_instance.a"]


# --- the doors -------------------------------------------------------------------------------------


def test_json_contract_and_levels_via_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    main(["check", "examples/gcp-gpu-serving", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["suggestions"]
    for s in report["suggestions"]:
        assert set(s) == {"kind", "address", "from", "to", "monthly_savings_usd", "rationale"}
        for side in (s["from"], s["to"]):
            assert set(side) == {"instance_type", "quantity", "purchase_option", "region", "provider", "hourly_usd", "monthly_usd"}
        assert s["monthly_savings_usd"] > 0
    best: dict[str, float] = {}
    for s in report["suggestions"]:
        best[s["address"]] = max(best.get(s["address"], 0.0), s["monthly_savings_usd"])
    assert report["totals"]["possible_savings_monthly_usd"] == pytest.approx(sum(best.values()), abs=0.011)
    main(["check", "examples/gcp-gpu-serving", "--format", "json", "--suggest", "none"])
    none = json.loads(capsys.readouterr().out)
    assert none["suggestions"] == [] and none["totals"]["possible_savings_monthly_usd"] == 0
    main(["check", "examples/gcp-gpu-serving", "--format", "json", "--suggest", "safe"])
    safe = json.loads(capsys.readouterr().out)
    assert {s["kind"] for s in safe["suggestions"]} <= {"packing", "rightsize", "generation", "commitment"}


def test_bad_suggest_level_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    with pytest.raises(SystemExit) as exit_:
        main(["check", "examples/gcp-gpu-serving", "--suggest", "bogus"])
    assert exit_.value.code == 2


def test_text_and_table_show_suggestions(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    main(["check", "examples/gcp-gpu-serving", "--format", "text"])
    text = capsys.readouterr().out
    lines = [line for line in text.splitlines() if ": suggestion " in line]
    assert len(lines) == 2 and lines[0].startswith("google_container_node_pool.l4_serving: suggestion commitment: save $691.69/month")
    assert "possible savings $1,140.77/month" in text
    main(["check", "examples/gcp-gpu-serving"])
    table = capsys.readouterr().out
    assert "Suggestions: 2, possible savings $1,140.77/month" in table
    assert "g2-standard-8 × 3 reserved-1y" in textwrap.dedent(table)
