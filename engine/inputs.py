"""Find and classify inputs: files and directories, detected by content as well as by name."""

from __future__ import annotations

import os
import re
import stat
import sys
from enum import Enum

import msgspec

from tollgate.engine.errors import InputError

_SKIP_DIRS = {".git", ".terraform", "node_modules", "__pycache__", ".venv", ".tox"}
# Tollgate's own policy files are configuration, never inputs.
_NOT_INPUTS = {"tollgate.yaml", "tollgate.yml", ".tollgate.yaml", ".pre-commit-config.yaml", ".pre-commit-hooks.yaml"}
_SNIFF_BYTES = 65536
STDIN = "-"  # `tollgate check -` reads standard input


class InputKind(str, Enum):
    PLAN = "terraform-plan"
    HCL = "terraform-hcl"
    MANIFEST = "kubernetes-manifest"


class InputFile(msgspec.Struct, frozen=True):
    path: str
    kind: InputKind
    explicit: bool = True  # named on the command line, not found in a directory walk
    # The content, when the input is a stream (`-`, a pipe, `<(terraform show -json plan.out)`):
    # a pipe can be read only once, so it is read here and never opened again.
    data: bytes | None = None


def _sniff(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as error:
        raise InputError(path, f"cannot be read: {error.strerror or error}") from None
    return _sniff_bytes(head)


def _sniff_bytes(data: bytes) -> bytes:
    """The first bytes of the content; of a gzip, decompressed (a truncated gzip head decompresses
    as far as it goes)."""
    if data[:2] == b"\x1f\x8b":
        import zlib

        try:
            return zlib.decompressobj(wbits=zlib.MAX_WBITS | 16).decompress(data, _SNIFF_BYTES)
        except zlib.error:
            return b""
    return data[:_SNIFF_BYTES]


def _normalized_head(head: bytes) -> bytes:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) > 1 and (head[0] == 0 or head[1] == 0)):
        try:
            return head.decode("utf-16", errors="ignore").encode("utf-8")
        except UnicodeError:
            return head
    return head.removeprefix(b"\xef\xbb\xbf")


def classify(path: str, data: bytes | None = None) -> InputKind | None:
    """What a file is, from its name and its first bytes (`data`: the content already read from a
    stream); None for files Tollgate does not read."""
    name = os.path.basename(path).lower()
    if name.endswith((".tf", ".tfvars")):
        return InputKind.HCL
    head = _normalized_head(_sniff(path) if data is None else _sniff_bytes(data)).lstrip()
    if name.endswith((".yaml", ".yml")):
        # Only Kubernetes objects: a CI workflow or a compose file is not an input.
        return InputKind.MANIFEST if _looks_like_manifest(head) else None
    if head.startswith(b"{") and (b'"resource_changes"' in head or b'"planned_values"' in head or b'"format_version"' in head):
        return InputKind.PLAN
    if name.endswith((".json", ".json.gz")) and head.startswith(b"{") and b'"terraform_version"' in head:
        return InputKind.PLAN
    if head.startswith(b"{") and _looks_like_json_manifest(head):
        return InputKind.MANIFEST  # `kubectl get -o json` output (JSON is YAML to the manifest reader)
    if data is not None and _looks_like_manifest(head):
        return InputKind.MANIFEST  # a stream has no name to go by: its content decides
    return None


_API_VERSION_RE = re.compile(rb"^\s*apiVersion\s*:", re.MULTILINE)
_KIND_RE = re.compile(rb"^\s*kind\s*:", re.MULTILINE)


# kubectl writes apiVersion first (sorted keys); hand-written JSON usually starts with one of the two.
_JSON_FIRST_KEY_RE = re.compile(rb'^\{\s*"(?:apiVersion|kind)"\s*:')
_JSON_API_VERSION_RE = re.compile(rb'"apiVersion"\s*:')
_JSON_KIND_RE = re.compile(rb'"kind"\s*:')


def _looks_like_manifest(head: bytes) -> bool:
    if head.startswith(b"{"):
        return _looks_like_json_manifest(head)
    return bool(_API_VERSION_RE.search(head) and _KIND_RE.search(head))


def _looks_like_json_manifest(head: bytes) -> bool:
    return bool(_JSON_FIRST_KEY_RE.match(head) and _JSON_API_VERSION_RE.search(head) and _JSON_KIND_RE.search(head))


def collect_inputs(paths: list[str], lenient: bool = False) -> list[InputFile]:
    """Expand paths into input files. A named file must be readable as some input; in a directory,
    files Tollgate does not read are skipped. `lenient` (a hook's changed-file list) skips named
    files that are not inputs, and deleted ones, instead of failing. `-`, a pipe or a device is
    read once, here, as a stream."""
    found: list[InputFile] = []
    for path in paths:
        if path == STDIN or _is_stream(path):
            found.append(_stream_input(path))
        elif os.path.isdir(path):
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


def _is_stream(path: str) -> bool:
    """A pipe, socket or character device (/dev/stdin, /dev/fd/63): not a file to open twice."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _stream_input(path: str) -> InputFile:
    from tollgate.engine.terraform.plan_file import MAX_INPUT_ENV, max_input_bytes

    limit = max_input_bytes()
    try:
        if path == STDIN:
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
    except OSError as error:
        raise InputError(path, f"cannot be read: {error.strerror or error}") from None
    if len(data) > limit:
        raise InputError(path, f"is more than {limit:,} bytes; set {MAX_INPUT_ENV} to raise the limit")
    kind = classify(path, data)
    if kind is None:
        raise InputError(path, _why_not_an_input(path, data))
    if kind is InputKind.HCL:
        raise InputError(path, "HCL is read from files in a module directory, not from a stream: pass the directory")
    return InputFile(path, kind, data=data)


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
            if _is_stream(path):
                continue  # a named pipe in a tree is nobody's manifest, and reading it would wait forever
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


def _why_not_an_input(path: str, data: bytes | None = None) -> str:
    head = _normalized_head(_sniff(path) if data is None else _sniff_bytes(data)).lstrip()
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
