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

import msgspec

from tollgate.engine.model import SourceLocation, Waiver
from tollgate.engine.terraform.plan_context import PlanContext
from tollgate.engine.terraform.plan_file import PlanResource

_BLOCK_RE = re.compile(r'^[ \t]*resource[ \t]+"([^"]+)"\s+"([^"]+)"\s*\{', re.MULTILINE)
# `# tollgate:ignore <policy-id> <reason>` (or `//`) inside a resource block.
_IGNORE_RE = re.compile(r"(?:#|//)[ \t]*tollgate:ignore[ \t]+(\S+)[ \t]*([^\n]*)")


class BlockInfo(msgspec.Struct, frozen=True):
    location: SourceLocation
    waivers: tuple[Waiver, ...]


class SourceMap:
    def __init__(self, module_dirs: dict[str, str]) -> None:
        self._module_dirs = module_dirs  # module path without keys ("" = root) -> directory
        self._blocks: dict[str, dict[str, BlockInfo]] = {}

    @classmethod
    def for_plan(cls, plan_path: str, configuration: dict[str, Any], root: str | None = None) -> SourceMap:
        root = root or os.path.dirname(plan_path) or "."
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

    def locate(self, context: PlanContext, resource: PlanResource) -> BlockInfo | None:
        directory = self._module_dirs.get(context.module_path(resource))
        if directory is None:
            return None
        blocks = self._blocks.get(directory)
        if blocks is None:
            blocks = self._blocks[directory] = _scan_directory(directory)
        return blocks.get(context.local_address(resource))


def _scan_directory(directory: str) -> dict[str, BlockInfo]:
    found: dict[str, BlockInfo] = {}
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
            body_end = block_end(text, match.end() - 1)
            waivers = inline_waivers(text, path, match.end(), body_end)
            found.setdefault(f"{match.group(1)}.{match.group(2)}", BlockInfo(SourceLocation(file=path, line=line), waivers))
    return found


# Public so that the HCL reader (engine/hcl) finds waivers in `module` blocks the same way: the
# compute a registry module creates is located at, and waived inside, the module block.
def inline_waivers(text: str, path: str, start: int, end: int) -> tuple[Waiver, ...]:
    """The `# tollgate:ignore <policy-id> <reason>` comments between offsets `start` and `end`."""
    return tuple(
        Waiver(
            policy_id=ignore.group(1),
            reason=ignore.group(2).strip() or None,
            source="inline",
            file=path,
            line=text.count("\n", 0, ignore.start()) + 1,
        )
        for ignore in _IGNORE_RE.finditer(text, start, end)
    )


def block_end(text: str, open_brace: int) -> int:
    """Index just past the `}` closing the block whose `{` is at `open_brace`. Braces inside
    strings, comments and heredocs do not count. Unbalanced text ends at the end of the file."""
    depth = 0
    i = open_brace
    length = len(text)
    while i < length:
        ch = text[i]
        if ch == '"':
            i += 1
            while i < length and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif ch == "#" or text.startswith("//", i):
            newline = text.find("\n", i)
            i = length if newline < 0 else newline
            continue
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = length if close < 0 else close + 2
            continue
        elif text.startswith("<<", i):
            heredoc = _HEREDOC_RE.match(text, i)
            if heredoc:
                marker = heredoc.group(1)
                end = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*$", re.MULTILINE).search(text, heredoc.end())
                i = length if end is None else end.end()
                continue
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return length


_HEREDOC_RE = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")
