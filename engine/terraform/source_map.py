"""Map plan addresses back to `resource` blocks in the .tf files next to the plan.

A plan says nothing about files and lines, but a finding is only useful with one. When the
configuration sits next to the plan (the usual CI layout), each module's directory comes from the
configuration's `module_calls[*].source` and the block is found by a line scan, which is cheap
and does not need an HCL parse.
"""

from __future__ import annotations

import os
import re
from typing import Any

from tollgate.engine.model import SourceLocation
from tollgate.engine.terraform.plan_context import PlanContext
from tollgate.engine.terraform.plan_file import PlanResource

_BLOCK_RE = re.compile(r'^[ \t]*resource[ \t]+"([^"]+)"\s+"([^"]+)"', re.MULTILINE)


class SourceMap:
    def __init__(self, module_dirs: dict[str, str]) -> None:
        self._module_dirs = module_dirs  # module path without keys ("" = root) -> directory
        self._blocks: dict[str, dict[str, SourceLocation]] = {}

    @classmethod
    def for_plan(cls, plan_path: str, configuration: dict[str, Any]) -> SourceMap:
        root = os.path.dirname(plan_path) or "."
        module_dirs = {"": root}
        stack: list[tuple[str, str, Any]] = [("", root, configuration.get("root_module"))]
        while stack:
            path, directory, module = stack.pop()
            if not isinstance(module, dict):
                continue
            for name, call in (module.get("module_calls") or {}).items():
                source = call.get("source") if isinstance(call, dict) else None
                if isinstance(source, str) and source.startswith(("./", "../")):
                    child_path = f"{path}.module.{name}" if path else f"module.{name}"
                    child_dir = os.path.normpath(os.path.join(directory, source))
                    module_dirs[child_path] = child_dir
                    stack.append((child_path, child_dir, call.get("module")))
        return cls(module_dirs)

    def locate(self, context: PlanContext, resource: PlanResource) -> SourceLocation | None:
        directory = self._module_dirs.get(context.module_path(resource))
        if directory is None:
            return None
        blocks = self._blocks.get(directory)
        if blocks is None:
            blocks = self._blocks[directory] = _scan_directory(directory)
        return blocks.get(context.local_address(resource))


def _scan_directory(directory: str) -> dict[str, SourceLocation]:
    found: dict[str, SourceLocation] = {}
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
    except OSError:
        return found
    for name in names:
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        for match in _BLOCK_RE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.setdefault(f"{match.group(1)}.{match.group(2)}", SourceLocation(file=path, line=line))
    return found
