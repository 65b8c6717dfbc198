"""Find and classify inputs: files and directories, detected by content as well as by name."""

from __future__ import annotations

import os
import re
from enum import Enum

import msgspec

from tollgate.engine.errors import InputError

_SKIP_DIRS = {".git", ".terraform", "node_modules", "__pycache__", ".venv", ".tox"}
# Tollgate's own policy files are configuration, never inputs.
_NOT_INPUTS = {"tollgate.yaml", "tollgate.yml", ".tollgate.yaml", ".pre-commit-config.yaml", ".pre-commit-hooks.yaml"}
_SNIFF_BYTES = 65536


class InputKind(str, Enum):
    PLAN = "terraform-plan"
    HCL = "terraform-hcl"
    MANIFEST = "kubernetes-manifest"


class InputFile(msgspec.Struct, frozen=True):
    path: str
    kind: InputKind
    explicit: bool = True  # named on the command line, not found in a directory walk


def _sniff(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as error:
        raise InputError(path, f"cannot be read: {error.strerror or error}") from None
    if head[:2] == b"\x1f\x8b":
        import gzip
        import zlib

        try:
            with gzip.open(path, "rb") as handle:
                head = handle.read(_SNIFF_BYTES)
        except (OSError, EOFError, zlib.error):
            return b""
    return head


def _normalized_head(head: bytes) -> bytes:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) > 1 and (head[0] == 0 or head[1] == 0)):
        try:
            return head.decode("utf-16", errors="ignore").encode("utf-8")
        except UnicodeError:
            return head
    return head.removeprefix(b"\xef\xbb\xbf")


def classify(path: str) -> InputKind | None:
    """What a file is, from its name and its first bytes; None for files Tollgate does not read."""
    name = os.path.basename(path).lower()
    if name.endswith((".tf", ".tfvars")):
        return InputKind.HCL
    head = _normalized_head(_sniff(path)).lstrip()
    if name.endswith((".yaml", ".yml")):
        # Only Kubernetes objects: a CI workflow or a compose file is not an input.
        return InputKind.MANIFEST if _looks_like_manifest(head) else None
    if head.startswith(b"{") and (b'"resource_changes"' in head or b'"planned_values"' in head or b'"format_version"' in head):
        return InputKind.PLAN
    if name.endswith((".json", ".json.gz")) and head.startswith(b"{") and b'"terraform_version"' in head:
        return InputKind.PLAN
    return None


_API_VERSION_RE = re.compile(rb"^\s*apiVersion\s*:", re.MULTILINE)
_KIND_RE = re.compile(rb"^\s*kind\s*:", re.MULTILINE)


def _looks_like_manifest(head: bytes) -> bool:
    return bool(_API_VERSION_RE.search(head) and _KIND_RE.search(head))


def collect_inputs(paths: list[str], lenient: bool = False) -> list[InputFile]:
    """Expand paths into input files. A named file must be readable as some input; in a directory,
    files Tollgate does not read are skipped. `lenient` (a hook's changed-file list) skips named
    files that are not inputs, and deleted ones, instead of failing."""
    found: list[InputFile] = []
    for path in paths:
        if os.path.isdir(path):
            found.extend(_walk(path))
        elif os.path.exists(path):
            if lenient and os.path.basename(path).lower() in _NOT_INPUTS:
                continue
            kind = classify(path)
            if kind is None:
                if lenient:
                    continue
                raise InputError(path, _why_not_an_input(path))
            found.append(InputFile(path, kind))
        elif not lenient:
            raise InputError(path, "no such file or directory")
    return found


def _walk(directory: str) -> list[InputFile]:
    found: list[InputFile] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            lowered = name.lower()
            if lowered in _NOT_INPUTS:
                continue
            if not lowered.endswith((".json", ".json.gz", ".tfplan", ".tf", ".yaml", ".yml")):
                continue
            path = os.path.join(root, name)
            kind = classify(path)
            if kind is not None:
                found.append(InputFile(path, kind, explicit=False))
    return _drop_configuration_of_plans(found)


def _drop_configuration_of_plans(found: list[InputFile]) -> list[InputFile]:
    """A plan already contains its configuration: .tf files in the plan's directory (or below it,
    its local modules) are read through the plan, not priced a second time as HCL."""
    plan_dirs = {os.path.dirname(f.path) for f in found if f.kind is InputKind.PLAN}

    def under_a_plan(path: str) -> bool:
        directory = os.path.dirname(path)
        return any(directory == d or directory.startswith(d + os.sep) for d in plan_dirs)

    return [f for f in found if not (f.kind is InputKind.HCL and under_a_plan(f.path))]


def _why_not_an_input(path: str) -> str:
    head = _normalized_head(_sniff(path)).lstrip()
    if not head:
        return "is empty"
    if os.path.basename(path).lower().endswith((".yaml", ".yml")):
        return "is YAML but not a Kubernetes manifest (no apiVersion and kind)"
    if head.startswith(b"{") and b'"lineage"' in head and b'"serial"' in head:
        return "is a Terraform state file, not a plan (check `terraform show -json <planfile>` output)"
    if head.startswith(b"{") or head.startswith(b"["):
        return "is JSON but not a Terraform plan (expected `terraform show -json <planfile>` output)"
    if head.startswith(b"tfplan") or head[:2] == b"PK":
        return "is a binary plan file; convert it with `terraform show -json <planfile> > plan.json`"
    return "is not a Terraform plan, .tf file or Kubernetes manifest"
