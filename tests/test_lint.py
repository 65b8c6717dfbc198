"""Pyflakes-level lint (unused imports, undefined names) stays clean across the code base."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_ruff_pyflakes_rules_are_clean() -> None:
    folders = ["engine", "providers", "integrations", "scripts", "bench", "tests"]
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "F", *folders], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
