"""Run mypy --strict on the tollgate packages.

The import package `tollgate.*` is mapped onto top-level folders (engine/, providers/, ...), which
mypy cannot discover through the editable-install import hook. This lays out a `tollgate/` tree of
symlinks under build/ and points mypy at it, so module names match the imports in the code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "providers", "integrations", "policies")


def main() -> int:
    root = REPO / "build" / "typecheck"
    package = root / "tollgate"
    package.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES:
        link = package / name
        if not link.is_symlink():
            link.symlink_to(REPO / name, target_is_directory=True)
    env = dict(os.environ, MYPYPATH=str(root))
    command = [sys.executable, "-m", "mypy", "--strict", "--namespace-packages", "--explicit-package-bases"]
    for name in PACKAGES[:3]:
        command += ["-p", f"tollgate.{name}"]
    command += sys.argv[1:]
    return subprocess.call(command, cwd=root, env=env)


if __name__ == "__main__":
    sys.exit(main())
