"""Reading `terraform show -json` output: bytes on disk -> typed, lazily decoded plan.

Big plans are dominated by attribute payloads we never look at (S3 buckets, IAM policies...).
msgspec decodes the envelope into typed structs and keeps every `before`/`after` payload as a
`Raw` slice of the input buffer; only compute resources get their payloads decoded. The garbage
collector is paused around the bulk decode, which on a 10k-resource plan is most of the time.
"""

from __future__ import annotations

import codecs
import gc
import msgspec
import os
import zlib
from typing import Any, Iterator


from tollgate.engine.errors import InputError

# A plan bigger than this is more likely a mistake (a binary, a state dump) than a change to review.
DEFAULT_MAX_INPUT_BYTES = 1 << 30
MAX_INPUT_ENV = "TOLLGATE_MAX_INPUT_BYTES"
TOO_DEEP = "is not a plan Tollgate can read: a value nests too deeply"

_RAW_NULL = msgspec.Raw(b"null")


class RawChange(msgspec.Struct):
    actions: list[str] = []
    before: msgspec.Raw = _RAW_NULL
    after: msgspec.Raw = _RAW_NULL
    after_unknown: msgspec.Raw = _RAW_NULL


class RawResourceChange(msgspec.Struct):
    address: str
    type: str
    change: RawChange
    mode: str = "managed"
    name: str = ""
    module_address: str | None = None
    provider_name: str = ""


class RawPlan(msgspec.Struct):
    format_version: str | None = None
    terraform_version: str | None = None
    resource_changes: list[RawResourceChange] | None = None
    planned_values: msgspec.Raw = _RAW_NULL
    configuration: msgspec.Raw = _RAW_NULL
    variables: msgspec.Raw = _RAW_NULL
    prior_state: msgspec.Raw = _RAW_NULL
    values: msgspec.Raw = _RAW_NULL  # present in `terraform show -json` of *state*, not plans


class PlanResource(msgspec.Struct):
    """One resource instance from the plan, with its payloads decoded on demand."""

    address: str
    type: str
    name: str
    module_address: str | None
    provider_name: str
    actions: tuple[str, ...]
    _before: msgspec.Raw | Any
    _after: msgspec.Raw | Any
    _after_unknown: msgspec.Raw | Any

    _decoded: dict[str, Any] = msgspec.field(default_factory=dict)

    # A payload is decoded on first use and kept until `release()`: an extractor and the links it
    # follows read the same payload several times, but a 10k-resource plan must not keep them all.
    def _payload(self, name: str, raw: msgspec.Raw | Any) -> Any:
        if name not in self._decoded:
            self._decoded[name] = _decode_raw(raw)
        return self._decoded[name]

    @property
    def before(self) -> Any:
        return self._payload("before", self._before)

    @property
    def after(self) -> Any:
        return self._payload("after", self._after)

    @property
    def after_unknown(self) -> Any:
        return self._payload("after_unknown", self._after_unknown)

    def values_in(self, state: str) -> dict[str, Any]:
        """The resource's values in `state` ("before"/"after"), else the other state's: a linked
        resource read by a request's before state should be read as it was before too."""
        first, second = (self.before, self.after) if state == "before" else (self.after, self.before)
        value = first if isinstance(first, dict) else second
        return value if isinstance(value, dict) else {}

    def release(self) -> None:
        self._decoded.clear()


class Plan(msgspec.Struct):
    path: str
    format_version: str | None
    terraform_version: str | None
    resources: list[PlanResource]
    from_planned_values: bool  # the plan had no resource_changes; actions are assumed "create"
    _configuration: msgspec.Raw
    _variables: msgspec.Raw

    def configuration(self) -> dict[str, Any]:
        value = _decode_raw(self._configuration)
        return value if isinstance(value, dict) else {}

    def variables(self) -> dict[str, Any]:
        value = _decode_raw(self._variables)
        return value if isinstance(value, dict) else {}


def _present(raw: msgspec.Raw) -> bool:
    # Look at the first bytes only: planned_values of a big plan is tens of megabytes.
    head = bytes(memoryview(raw)[:8]).strip()
    return bool(head) and not head.startswith(b"null")


def _decode_raw(raw: msgspec.Raw | Any) -> Any:
    if isinstance(raw, msgspec.Raw):
        return msgspec.json.decode(raw)
    return raw


def max_input_bytes() -> int:
    configured = os.environ.get(MAX_INPUT_ENV)
    if configured and configured.isdigit():
        return int(configured)
    return DEFAULT_MAX_INPUT_BYTES


def read_input_bytes(path: str) -> bytes:
    """Read a file as UTF-8 JSON bytes: gunzips, strips BOMs, re-encodes UTF-16. Size-limited."""
    limit = max_input_bytes()
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise InputError(path, f"file is too large ({size:,} bytes; the limit is {limit:,}, set {MAX_INPUT_ENV} to raise it)")
        with open(path, "rb") as handle:
            data = handle.read()
    except IsADirectoryError:
        raise InputError(path, "is a directory, expected a file") from None
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except PermissionError:
        raise InputError(path, "cannot be read: permission denied") from None
    except OSError as error:
        raise InputError(path, f"cannot be read: {error.strerror or error}") from None
    return decode_input_bytes(path, data)


def decode_input_bytes(path: str, data: bytes) -> bytes:
    """Raw input bytes as UTF-8 JSON bytes: gunzipped (size-limited), BOM stripped, UTF-16 re-encoded."""
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(path, data, max_input_bytes())
    return to_utf8(path, data)


def _gunzip(path: str, data: bytes, limit: int) -> bytes:
    # Stream with a cap so a small gzip bomb cannot exhaust memory.
    decompressor = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        out = decompressor.decompress(data, limit + 1)
    except zlib.error as error:
        raise InputError(path, f"is not a valid gzip file ({error})") from None
    if len(out) > limit or decompressor.unconsumed_tail:
        raise InputError(path, f"decompresses to more than {limit:,} bytes; set {MAX_INPUT_ENV} to raise the limit")
    return out


def to_utf8(path: str, data: bytes) -> bytes:
    """Terraform writes UTF-8, but PowerShell redirection (`>`) writes UTF-16 with a BOM."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):]
    encoding = None
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    elif len(data) >= 2 and data[0] != 0 and data[1] == 0:
        encoding = "utf-16-le"
    elif len(data) >= 2 and data[0] == 0 and data[1] != 0:
        encoding = "utf-16-be"
    if encoding is None:
        return data
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(path, f"looks like UTF-16 but cannot be decoded ({error.reason})") from None


_plan_decoder = msgspec.json.Decoder(RawPlan)


def parse_plan(path: str, data: bytes) -> Plan:
    """Decode plan JSON bytes. Raises InputError naming the file for anything that is not a plan."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        raw = _plan_decoder.decode(data)
    except msgspec.ValidationError as error:
        raise InputError(path, f"is not a Terraform plan: {error}") from None
    except msgspec.DecodeError as error:
        raise InputError(path, f"is not valid JSON ({error})") from None
    except RecursionError:
        raise InputError(path, TOO_DEEP) from None
    finally:
        if gc_was_enabled:
            gc.enable()
    return _to_plan(path, raw)


def _to_plan(path: str, raw: RawPlan) -> Plan:
    has_planned_values = _present(raw.planned_values)
    if raw.resource_changes is None and not has_planned_values:
        if _present(raw.values):
            raise InputError(path, "is Terraform state (`terraform show -json` without a plan file), not a plan")
        raise InputError(path, "is JSON but not a Terraform plan: it has neither resource_changes nor planned_values")
    if raw.resource_changes is not None:
        resources = [
            PlanResource(
                address=rc.address,
                type=rc.type,
                name=rc.name,
                module_address=rc.module_address,
                provider_name=rc.provider_name,
                actions=tuple(rc.change.actions),
                _before=rc.change.before,
                _after=rc.change.after,
                _after_unknown=rc.change.after_unknown,
            )
            for rc in raw.resource_changes
            if rc.mode == "managed"
        ]
        from_planned_values = False
    else:
        resources = list(_planned_values_resources(path, raw.planned_values))
        from_planned_values = True
    return Plan(
        path=path,
        format_version=raw.format_version,
        terraform_version=raw.terraform_version,
        resources=resources,
        from_planned_values=from_planned_values,
        _configuration=raw.configuration,
        _variables=raw.variables,
    )


def _planned_values_resources(path: str, planned_values: msgspec.Raw) -> Iterator[PlanResource]:
    """Old or trimmed plans carry only planned_values: every resource there is read as a create."""
    root = _decode_raw(planned_values)
    if not isinstance(root, dict):
        raise InputError(path, "planned_values is not an object")
    stack = [root.get("root_module") or {}]
    while stack:
        module = stack.pop()
        if not isinstance(module, dict):
            continue
        for resource in module.get("resources") or []:
            if not isinstance(resource, dict) or resource.get("mode", "managed") != "managed":
                continue
            address = resource.get("address")
            if not isinstance(address, str):
                continue
            yield PlanResource(
                address=address,
                type=str(resource.get("type", "")),
                name=str(resource.get("name", "")),
                module_address=_module_part(address),
                provider_name=str(resource.get("provider_name", "")),
                actions=("create",),
                _before=None,
                _after=resource.get("values") or {},
                _after_unknown={},
            )
        stack.extend(reversed(module.get("child_modules") or []))


def _module_part(address: str) -> str | None:
    """'module.a["x"].module.b.aws_instance.c[0]' -> 'module.a["x"].module.b'."""
    parts = split_address(address)
    module_parts: list[str] = []
    i = 0
    while i + 1 < len(parts) and parts[i] == "module":
        module_parts += parts[i : i + 2]
        i += 2
    return ".".join(module_parts) if module_parts else None


def split_address(address: str) -> list[str]:
    """Split a resource address on dots that are not inside index brackets or quotes."""
    parts: list[str] = []
    depth = 0
    in_quotes = False
    current: list[str] = []
    previous = ""
    for ch in address:
        if ch == '"' and previous != "\\":
            in_quotes = not in_quotes
        elif not in_quotes and ch == "[":
            depth += 1
        elif not in_quotes and ch == "]":
            depth -= 1
        if ch == "." and depth == 0 and not in_quotes:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        previous = ch
    parts.append("".join(current))
    return parts


def read_plan(path: str) -> Plan:
    return parse_plan(path, read_input_bytes(path))


def looks_like_plan_json(data: bytes) -> bool:
    """Cheap content sniff for input detection: a JSON object mentioning plan keys near the top."""
    head = data[:4096].lstrip()
    return head.startswith(b"{") and (b'"format_version"' in data[:65536] or b'"resource_changes"' in data[:65536])

