"""Make `tests.fakes` importable under plain `pytest` too (`python -m pytest` already puts the
repository root on sys.path; pytest's default import mode only adds the test's own folder)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[2])
if REPO not in sys.path:
    sys.path.insert(0, REPO)
