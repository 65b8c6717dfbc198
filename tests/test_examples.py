"""Each example under examples/ prices exactly as its reviewed expected.json says.

The goldens were checked by hand once (unit prices against the catalog, counts against the
example's main.tf/plan). Regenerate after an intended change with TOLLGATE_UPDATE_GOLDEN=1 and
review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tollgate.engine.check import run_check
from tollgate.integrations.render_json import report_dict
from tollgate.providers.bundled import BundledCatalog

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (REPO / "examples").iterdir() if p.is_dir())


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_report_matches_its_reviewed_golden(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # paths in the report are relative to where tollgate runs
    report = report_dict(run_check([str(example.relative_to(REPO))], BundledCatalog()))
    golden = example / "expected.json"
    if os.environ.get("TOLLGATE_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    assert report == json.loads(golden.read_text())
