"""Requests that differ only in who they are get their suggestions computed once
(`engine.suggest.REUSE_ANSWERS`): the answers must be exactly those computed one by one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import tollgate.engine.suggest as suggest_module
from suggest_helpers import CATALOG, HOURS, config, priced, request
from tollgate.engine.check import CheckOptions, run_check
from tollgate.engine.config_loader import load_active_config
from tollgate.engine.suggest import suggest
from tollgate.providers.bundled import BundledCatalog

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"

JOB = """---
apiVersion: batch/v1
kind: Job
metadata:
  name: train-{i}
  labels: {{team: ml, cost-center: CC-{i:04d}{extra}}}
spec:
  parallelism: 2
  template:
    spec:
      nodeSelector: {{node.kubernetes.io/instance-type: g5.12xlarge, topology.kubernetes.io/region: us-east-1}}
      containers:
        - name: trainer
          image: trainer:{i}
          resources:
            requests: {{cpu: "8", memory: 32Gi}}
            limits: {{nvidia.com/gpu: 1}}
      restartPolicy: Never
"""


def both_ways(monkeypatch: pytest.MonkeyPatch, compute):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(suggest_module, "REUSE_ANSWERS", True)
    reused = compute()
    monkeypatch.setattr(suggest_module, "REUSE_ANSWERS", False)
    one_by_one = compute()
    return reused, one_by_one


def as_rows(suggestions):  # type: ignore[no-untyped-def]
    return [(s.kind, s.address, s.from_, s.to, s.monthly_savings, s.rationale) for s in suggestions]


def check_file(path: Path, policy: str | None = None):  # type: ignore[no-untyped-def]
    active = load_active_config(policy) if policy else load_active_config(None, "/")
    options = CheckOptions(config=active, today=dt.date(2026, 11, 22), suggest_level="all")
    return as_rows(run_check([str(path)], BundledCatalog(), options).suggestions)


def test_jobs_from_one_template_get_the_same_suggestions_each_under_its_own_address(tmp_path, monkeypatch):
    manifest = tmp_path / "jobs.yaml"
    manifest.write_text("".join(JOB.format(i=i, extra="") for i in range(12)))
    reused, one_by_one = both_ways(monkeypatch, lambda: check_file(manifest))
    assert reused == one_by_one
    addresses = {row[1] for row in reused if row[0] == "packing"}
    assert len(addresses) == 12  # one per Job, not one for the shape


def test_a_policy_scoped_by_address_or_label_is_not_reused_across_requests(tmp_path, monkeypatch):
    policy = tmp_path / "tollgate.yaml"
    policy.write_text(
        "version: 1\npolicies:\n"
        "  - {id: not-by-name, type: instance_type, deny: ['g5.2xlarge'], scope: {addresses: ['*train-3*']}}\n"
        "  - {id: not-by-label, type: instance_type, deny: ['g5.2xlarge'], scope: {tags: {cost-center: CC-0005}}}\n"
    )
    manifest = tmp_path / "jobs.yaml"
    manifest.write_text("".join(JOB.format(i=i, extra="") for i in range(8)))
    reused, one_by_one = both_ways(monkeypatch, lambda: check_file(manifest, str(policy)))
    assert reused == one_by_one
    packing = {row[1].split(" ")[0]: row[3]["instance_type"] for row in reused if row[0] == "packing"}
    assert packing["Job/default/train-0"] == "g5.2xlarge"
    assert packing["Job/default/train-3"] != "g5.2xlarge" and packing["Job/default/train-5"] != "g5.2xlarge"


def test_requests_in_terraform_with_the_same_shape_and_different_tags(monkeypatch):
    requests = [
        request(f"aws_instance.web[{i}]", "aws", "us-east-1", "m5.4xlarge", tags={"team": f"t{i}", "tollgate.dev/needs-vcpu": "4"})
        for i in range(5)
    ] + [request("aws_instance.other", "aws", "us-east-1", "m5.4xlarge", tags={"tollgate.dev/needs-vcpu": "8"})]
    active = config([{"id": "t", "type": "instance_type", "deny": ["m6a*"], "scope": {"tags": {"team": "t3"}}}])
    reused, one_by_one = both_ways(monkeypatch, lambda: as_rows(suggest(priced(*requests), CATALOG, active, HOURS, "all")))
    assert reused == one_by_one
    assert len({row[3].get("instance_type") for row in reused if row[0] == "rightsize"}) > 1


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus not present")
def test_every_corpus_manifest_and_example_gets_what_one_by_one_gives(monkeypatch):
    paths = sorted((CORPUS / "k8s").rglob("*.yaml")) + sorted(p for p in (REPO / "examples").iterdir() if p.is_dir())
    assert paths
    for path in paths:
        policy = path / "tollgate.yaml" if (path / "tollgate.yaml").is_file() else None
        reused, one_by_one = both_ways(monkeypatch, lambda: check_file(path, str(policy) if policy else None))
        assert reused == one_by_one, path
