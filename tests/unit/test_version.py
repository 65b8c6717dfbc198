"""The version is written once (engine/version.py) and is what the installed metadata says."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from tollgate.engine.version import __version__


def test_the_installed_metadata_version_is_the_constant() -> None:
    assert version("tollgate") == __version__


def test_version_flag_prints_it() -> None:
    result = subprocess.run([sys.executable, "-m", "tollgate.integrations.cli", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == f"tollgate {__version__}"
