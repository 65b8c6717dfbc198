"""The code base type-checks under mypy --strict (the project's style bar, enforced in CI)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_strict_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "typecheck.py")], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
