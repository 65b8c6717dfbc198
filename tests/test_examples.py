"""Each example under examples/ checks exactly as its reviewed expected.json says, with the policy
file next to it (or the built-in default pack), and exits with the documented code.

The goldens were checked by hand once (unit prices against the catalog, counts against the
example's main.tf/plan, findings against its tollgate.yaml). Regenerate after an intended change
with TOLLGATE_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from tollgate.engine.check import CheckOptions, run_check
from tollgate.engine.config_loader import load_active_config
from tollgate.integrations.cli import main
from tollgate.integrations.render_json import report_dict
from tollgate.providers.bundled import BundledCatalog

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (REPO / "examples").iterdir() if p.is_dir())
TODAY = dt.date(2026, 11, 22)  # waiver expiry is judged against this date in the goldens

# The documented exit code of `tollgate check examples/<name> [--config examples/<name>/tollgate.yaml]`.
EXPECTED_EXIT = {
    "aws-gpu-training": 0,
    "azure-aks-gpu": 0,
    "gcp-gpu-serving": 0,
    "batch-not-on-spot": 1,
    "disallowed-region": 1,
    "eks-gpu-node-group": 0,
    "gpu-training-over-budget": 1,
    "missing-tags-expired-waiver": 1,
}


def _config_args(example: Path) -> list[str]:
    policy = example / "tollgate.yaml"
    return ["--config", str(policy.relative_to(REPO))] if policy.exists() else []


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_report_matches_its_reviewed_golden(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # paths in the report are relative to where tollgate runs
    config_args = _config_args(example)
    config = load_active_config(config_args[1] if config_args else None)
    options = CheckOptions(config=config, today=TODAY)
    report = report_dict(run_check([str(example.relative_to(REPO))], BundledCatalog(), options))
    golden = example / "expected.json"
    if os.environ.get("TOLLGATE_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(report, indent=2) + "\n")
    assert report == json.loads(golden.read_text())


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_exits_with_its_documented_code(example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    code = main(["check", str(example.relative_to(REPO)), *_config_args(example), "--format", "json"])
    capsys.readouterr()
    assert code == EXPECTED_EXIT[example.name]


def test_every_example_has_a_documented_exit_code() -> None:
    assert sorted(EXPECTED_EXIT) == sorted(p.name for p in EXAMPLES)
