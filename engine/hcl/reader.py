"""Terraform HCL without a plan (the pre-commit path) -> ComputeRequests.

A module directory is read the way Terraform would plan it, as far as that is possible without
state, credentials or providers: every `*.tf` file of the root module, variables from their
defaults, `terraform.tfvars`, `*.auto.tfvars` and `--var-file`s (in Terraform's order), locals,
expressions (engine/hcl/evaluate.py), `count`/`for_each`, dynamic blocks, references to other
resources' configured attributes, local modules (recursively, with their inputs evaluated in the
caller's scope) and the registry modules where compute hides (engine/hcl/registry_modules.py).

The result is put into the in-memory shapes of a plan (`Plan`, `PlanResource` with `after` and
`after_unknown`, and a `configuration` with provider configurations, references and module calls),
so the same extractors that read plans read HCL: one set of rules for both. What cannot be known
without a plan is `Unknown`, which becomes `after_unknown: true`, and the request lists it in
`unknowns` with the reason in `notes`; nothing is guessed. Every request carries the file and line
of its `resource` block (or of the `module` block that creates it).
"""

from __future__ import annotations

import json
import os
import re
from collections import OrderedDict
from typing import Any, Iterator


import msgspec

from tollgate.engine.errors import InputError
from tollgate.engine.hcl import registry_modules
from tollgate.engine.hcl.evaluate import (
    EMPTY_SCOPE,
    Computed,
    EvalError,
    Namespace,
    Scope,
    Unknown,
    compile_value,
    convert_type,
    evaluate_safely,
    references,
    to_number,
)
from tollgate.engine.model import Action, ComputeRequest, Quantity, SourceLocation, Waiver
from tollgate.engine.terraform import resources_aws, resources_azure, resources_gcp  # noqa: F401  (register extractors)
from tollgate.engine.terraform.plan_context import PlanContext
from tollgate.engine.terraform.plan_file import Plan, PlanResource
from tollgate.engine.terraform.source_map import SourceMap, block_end, inline_waivers
from tollgate.engine.terraform.view import EXTRACTORS, ResourceView

# Resources other resources are linked to (an ASG's launch template, a node pool's cluster, a
# VM's resource group): materialized in the plan so that the extractors can follow the links.
LINKED_TYPES = frozenset({
    "aws_launch_template",
    "aws_launch_configuration",
    "google_compute_instance_template",
    "google_compute_region_instance_template",
    "azurerm_resource_group",
})
# Attributes a plan shows as unknown when the configuration leaves them unset (the provider
# computes them). The extractors rely on that to apply the provider's default, so HCL says so too.
COMPUTED_WHEN_UNSET: dict[str, tuple[str, ...]] = {
    "aws_autoscaling_group": ("desired_capacity",),
    "aws_instance": ("instance_type",),
    "aws_spot_instance_request": ("instance_type",),
}
_META = frozenset({"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection", "dynamic"})
_MODULE_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
_MAX_MODULE_DEPTH = 24
# count/for_each are expanded one instance at a time; past these a count is unknown (with the
# reason) instead of minutes of work or an out-of-memory for `count = 1e9`.
MAX_INSTANCES_PER_BLOCK = 10_000
MAX_INSTANCES_PER_CONFIGURATION = 50_000
_BLOCK_HEAD_RE = re.compile(r'^[ \t]*module[ \t]+"([^"]+)"\s*\{', re.MULTILINE)


# --- reading files -----------------------------------------------------------------------------
class Block(msgspec.Struct):
    labels: tuple[str, ...]
    body: dict[str, Any]
    file: str


class ModuleSource(msgspec.Struct):
    """One module directory, parsed once."""

    directory: str
    files: list[str] = msgspec.field(default_factory=list)
    variables: dict[str, Block] = msgspec.field(default_factory=dict)
    locals: dict[str, tuple[Any, str]] = msgspec.field(default_factory=dict)
    resources: dict[tuple[str, str], Block] = msgspec.field(default_factory=dict)
    data: dict[tuple[str, str], Block] = msgspec.field(default_factory=dict)
    modules: dict[str, Block] = msgspec.field(default_factory=dict)
    providers: list[Block] = msgspec.field(default_factory=list)
    outputs: dict[str, Block] = msgspec.field(default_factory=dict)


def _unquote(label: str) -> str:
    if len(label) >= 2 and label.startswith('"') and label.endswith('"'):
        return label[1:-1]
    return label


def _is_block_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


# Parsed files by content, for processes that read the same modules again (a server, a test run):
# python-hcl2 parses about 100-150 kB/s, so a repeated parse is most of a repeated read. The parsed
# dicts are never mutated by the reader.
_PARSED: OrderedDict[str, dict[str, Any]] = OrderedDict()
_PARSED_MAX = 256


def _parse_hcl(path: str, text: str) -> dict[str, Any]:
    cached = _PARSED.get(text)
    if cached is not None:
        _PARSED.move_to_end(text)
        return cached
    parsed = _parse_hcl_text(path, text)
    _PARSED[text] = parsed
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return parsed


def _parse_hcl_text(path: str, text: str) -> dict[str, Any]:
    from tollgate.engine.hcl import fastparse

    try:
        return fastparse.parse(text)
    except fastparse.Unsupported:
        pass  # python-hcl2 parses it (identical dicts), or words the error for invalid HCL
    import hcl2  # lazily: only for what fastparse does not reproduce exactly, or cannot read

    try:
        from hcl2 import SerializationOptions
    except ImportError:  # python-hcl2 < 8 serializes strings without their quotes
        raise InputError(path, "reading .tf files needs python-hcl2 >= 8 (pip install -U python-hcl2)") from None
    options = SerializationOptions(with_comments=False, preserve_heredocs=False)
    try:
        return dict(hcl2.loads(text, serialization_options=options))
    except Exception as error:  # lark raises many exception types; each is "not valid HCL"
        first = error
    if "%{" in text:
        # Some template directives python-hcl2 cannot parse (8.1.4 reads a plain `%{ if }` in a
        # quoted string, not every form). Read the directives as literal text marked unsupported;
        # values that use them become unknown.
        try:
            return dict(hcl2.loads(text.replace("%{", "%%{" + _DIRECTIVE_MARK), serialization_options=options))
        except Exception:
            pass
    line = getattr(first, "line", None)
    column = getattr(first, "column", None)
    token = getattr(first, "token", None)
    if token is not None:
        detail = f"unexpected {str(token).strip()[:40]!r}" if str(token).strip() else "unexpected end of line"
    else:
        detail = (str(first).strip().splitlines() or [type(first).__name__])[0][:200]
    where = f" at line {line}, column {column}" if isinstance(line, int) and line > 0 else ""
    raise InputError(path, f"is not valid HCL{where}: {detail}")


_DIRECTIVE_MARK = "\u2063tollgate-directive\u2063"


def load_module(directory: str) -> ModuleSource:
    source = ModuleSource(directory=directory)
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
    except OSError as error:
        raise InputError(directory, f"cannot be read: {error.strerror or error}") from None
    # Override files are merged into the blocks they override, after every other file.
    names = [n for n in names if not _is_override(n)] + [n for n in names if _is_override(n)]
    for name in names:
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8-sig") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(path, f"cannot be read: {getattr(error, 'strerror', None) or error}") from None
        source.files.append(path)
        _collect_blocks(source, _parse_hcl(path, text), path, override=_is_override(name))
    return source


def _is_override(name: str) -> bool:
    return name == "override.tf" or name.endswith("_override.tf")


def _collect_blocks(source: ModuleSource, parsed: dict[str, Any], path: str, override: bool) -> None:
    for kind, blocks in parsed.items():
        if not isinstance(blocks, list):
            continue
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if kind == "locals":
                for name, value in block.items():
                    if not name.startswith("__"):
                        source.locals[name] = (value, path)
                continue
            for labels, body in _labelled(block, {"resource": 2, "data": 2}.get(kind, 1 if kind in ("variable", "module", "provider", "output") else 0)):
                item = Block(labels, body, path)
                target: dict[Any, Block] | None = None
                key: Any = None
                if kind == "resource" and len(labels) == 2:
                    target, key = source.resources, labels
                elif kind == "data" and len(labels) == 2:
                    target, key = source.data, labels
                elif kind == "variable" and labels:
                    target, key = source.variables, labels[0]
                elif kind == "module" and labels:
                    target, key = source.modules, labels[0]
                elif kind == "output" and labels:
                    target, key = source.outputs, labels[0]
                elif kind == "provider" and labels:
                    source.providers.append(item)
                if target is None:
                    continue
                if override and key in target:
                    merged = dict(target[key].body)
                    merged.update(body)
                    target[key] = Block(labels, merged, target[key].file)
                else:
                    target.setdefault(key, item)


def _labelled(block: dict[str, Any], depth: int) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """python-hcl2 nests labelled blocks as {'"label1"': {'"label2"': body}}."""
    if depth == 0:
        yield (), block
        return
    for label, inner in block.items():
        if label.startswith("__") or not isinstance(inner, dict):
            continue
        for rest, body in _labelled(inner, depth - 1):
            yield (_unquote(label),) + rest, body


def read_tfvars(path: str) -> dict[str, Any]:
    """A .tfvars (HCL) or .tfvars.json file -> {variable: value}."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot be read: {getattr(error, 'strerror', None) or error}") from None
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(path, f"is not valid JSON ({error})") from None
        if not isinstance(data, dict):
            raise InputError(path, "is not a JSON object of variable values")
        return data
    parsed = _parse_hcl(path, text)
    return {
        name: evaluate_safely(compile_value(value), EMPTY_SCOPE)
        for name, value in parsed.items()
        if not name.startswith("__") and not _is_block_list(value)
    }


def root_variable_values(directory: str, var_files: list[str]) -> dict[str, Any]:
    """Terraform's order: terraform.tfvars, terraform.tfvars.json, *.auto.tfvars(.json) in lexical
    order, then each -var-file in the order given; a later file wins."""
    values: dict[str, Any] = {}
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        names = []
    automatic: list[str] = [n for n in ("terraform.tfvars", "terraform.tfvars.json") if n in names]
    automatic += [n for n in names if n.endswith((".auto.tfvars", ".auto.tfvars.json"))]
    for name in automatic:
        values.update(read_tfvars(os.path.join(directory, name)))
    for path in var_files:
        values.update(read_tfvars(path))
    return values


# --- evaluation of a module instance -----------------------------------------------------------
class Expansion(msgspec.Struct):
    """How many instances a block with count/for_each has: keys (None for a plain block)."""

    keys: list[Any]
    each: dict[Any, Any]
    mode: str  # "single" | "count" | "for_each"
    unknown: Unknown | None = None


def _index_text(key: Any) -> str:
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    return "[" + json.dumps(key) + "]"


class ModuleInstance:
    """One instance of a module (the root, or one key of a `module` block)."""

    def __init__(
        self,
        reader: _Reader,
        source: ModuleSource,
        address: str,
        path: str,
        inputs: dict[str, Any],
        providers: dict[str, str],
        root: bool,
        relative_dir: str,
    ) -> None:
        self.reader = reader
        self.source = source
        self.address = address  # 'module.a["x"].module.b' ("" for the root)
        self.path = path  # 'module.a.module.b'
        self.inputs = inputs
        self.providers = providers
        self.root = root
        self.relative_dir = relative_dir
        # directories of this module and its callers: Terraform rejects a module that calls itself
        self.lineage: frozenset[str] = frozenset({source.directory})
        self.scope = Scope(self._resolve)
        self._variables: dict[str, Any] = {}
        self._locals: dict[str, Any] = {}
        self._expansions: dict[tuple[str, ...], Expansion] = {}
        self._instances: dict[tuple[str, str, Any], Computed] = {}
        self._children: dict[tuple[str, Any], ModuleInstance | None] = {}
        self._busy: set[Any] = set()

    # names ----------------------------------------------------------------------------------
    def _resolve(self, name: str) -> Any:
        if name == "var":
            return Namespace("var", self.variable)
        if name == "local":
            return Namespace("local", self.local)
        if name == "module":
            return Namespace("module", self.module_value)
        if name == "data":
            return Namespace("data", lambda kind: Namespace(f"data.{kind}", lambda n: Unknown(f"data.{kind}.{n} is read at plan time")))
        if name == "path":
            return {"module": self.relative_dir, "root": ".", "cwd": self.reader.root_directory}
        if name == "terraform":
            return {"workspace": Unknown("terraform.workspace is chosen when Terraform runs")}
        if name == "self":
            return Unknown("self is known only after apply")
        if name in ("count", "each"):
            raise EvalError(f"{name} is not available here")
        return Namespace(name, lambda resource_name: self.resource_value(name, resource_name))

    def variable(self, name: str) -> Any:
        if name in self._variables:
            return self._variables[name]
        block = self.source.variables.get(name)
        if block is None:
            # Terraform rejects such a configuration; here it only makes this value unknown, so
            # that one missing file does not hide everything else.
            return Unknown(f"var.{name} is not declared in {self.source.directory}")
        body = block.body
        type_node = compile_value(body["type"]) if "type" in body else None
        nullable = body.get("nullable", True) is not False
        if name in self.inputs and not (self.inputs[name] is None and not nullable):
            value = self.inputs[name]
        elif "default" in body:
            value = evaluate_safely(compile_value(body["default"]), EMPTY_SCOPE)
        elif self.root:
            value = Unknown(f"var.{name} has no value: no default and not set in a .tfvars file")
        else:
            value = Unknown(f"var.{name} of {self.path} has no value: no default and not passed by the module call")
        value = convert_type(value, type_node)
        self._variables[name] = value
        return value

    def local(self, name: str) -> Any:
        if name in self._locals:
            return self._locals[name]
        if name not in self.source.locals:
            return Unknown(f"local.{name} is not declared in {self.source.directory}")
        key = ("local", name)
        if key in self._busy:
            return Unknown(f"local.{name} refers to itself")
        self._busy.add(key)
        try:
            value = evaluate_safely(compile_value(self.source.locals[name][0]), self.scope)
        finally:
            self._busy.discard(key)
        self._locals[name] = value
        return value

    # resources ------------------------------------------------------------------------------
    def expansion(self, kind: str, labels: tuple[str, ...], body: dict[str, Any]) -> Expansion:
        key = (kind,) + labels
        cached = self._expansions.get(key)
        if cached is not None:
            return cached
        if key in self._busy:
            return Expansion([], {}, "count", Unknown(f"{'.'.join(labels)} count/for_each refers to itself"))
        self._busy.add(key)
        try:
            result = self._bounded(self._expand(body))
        finally:
            self._busy.discard(key)
        self._expansions[key] = result
        return result

    def _bounded(self, expansion: Expansion) -> Expansion:
        if expansion.unknown is not None or expansion.mode == "single":
            return expansion
        if len(expansion.keys) > MAX_INSTANCES_PER_BLOCK:  # a count is stopped before its range is built
            why = f"for_each has {len(expansion.keys):,} keys, more than the {MAX_INSTANCES_PER_BLOCK:,} instances Tollgate expands one by one"
            return Expansion([], {}, expansion.mode, Unknown(why))
        self.reader.instances_expanded += len(expansion.keys)
        if self.reader.instances_expanded > MAX_INSTANCES_PER_CONFIGURATION:
            why = f"{expansion.mode} expands past {MAX_INSTANCES_PER_CONFIGURATION:,} instances in this configuration, more than Tollgate expands one by one"
            return Expansion([], {}, expansion.mode, Unknown(why))
        return expansion

    def _expand(self, body: dict[str, Any]) -> Expansion:
        if "count" in body:
            value = evaluate_safely(compile_value(body["count"]), self.scope)
            if isinstance(value, Unknown):
                return Expansion([], {}, "count", value)
            try:
                number = to_number(value)
            except EvalError as error:
                return Expansion([], {}, "count", Unknown(f"count: {error}"))
            if number < 0 or not float(number).is_integer():
                return Expansion([], {}, "count", Unknown(f"count {number} is not a whole number"))
            if number > MAX_INSTANCES_PER_BLOCK:
                shown = f"{int(number):,}" if number < 10**40 else f"{float(number):.3g}"
                why = f"count = {shown} is more than the {MAX_INSTANCES_PER_BLOCK:,} instances Tollgate expands one by one"
                return Expansion([], {}, "count", Unknown(why))
            return Expansion(list(range(int(number))), {}, "count")
        if "for_each" in body:
            value = evaluate_safely(compile_value(body["for_each"]), self.scope)
            if isinstance(value, Unknown):
                return Expansion([], {}, "for_each", value)
            if isinstance(value, dict):
                keys = sorted(value)
                return Expansion(keys, {k: value[k] for k in keys}, "for_each")
            if isinstance(value, list):
                unknown = next((v for v in value if isinstance(v, Unknown)), None)
                if unknown is not None:
                    return Expansion([], {}, "for_each", unknown)
                if all(isinstance(v, str) for v in value):
                    keys = sorted(set(value))
                    return Expansion(keys, {k: k for k in keys}, "for_each")
            if value is None:
                return Expansion([], {}, "for_each", Unknown("for_each is null"))
            return Expansion([], {}, "for_each", Unknown("for_each is not a map or a set of strings"))
        return Expansion([None], {}, "single")

    def bindings(self, expansion: Expansion, key: Any) -> dict[str, Any]:
        if expansion.unknown is not None:
            cause = expansion.unknown
            return {"count": {"index": cause}, "each": {"key": cause, "value": cause}}
        if expansion.mode == "count":
            return {"count": {"index": key}}
        if expansion.mode == "for_each":
            return {"each": {"key": key, "value": expansion.each[key]}}
        return {}

    def resource_value(self, type_: str, name: str) -> Any:
        block = self.source.resources.get((type_, name))
        if block is None:
            return Unknown(f"{type_}.{name} is not declared in {self.source.directory}")
        expansion = self.expansion("resource", (type_, name), block.body)
        if expansion.unknown is not None:
            return expansion.unknown
        if expansion.mode == "single":
            return self.instance_values(type_, name, None)
        if expansion.mode == "count":
            return [self.instance_values(type_, name, k) for k in expansion.keys]
        return {k: self.instance_values(type_, name, k) for k in expansion.keys}

    def instance_values(self, type_: str, name: str, key: Any, unknown_key: bool = False) -> Computed:
        cache_key = (type_, name, "\x00unknown" if unknown_key else key)
        cached = self._instances.get(cache_key)
        if cached is not None:
            return cached
        label = f"{type_}.{name}{'[*]' if unknown_key else _index_text(key)}"
        if cache_key in self._busy:
            return Computed({}, label)
        self._busy.add(cache_key)
        try:
            block = self.source.resources[(type_, name)]
            expansion = self.expansion("resource", (type_, name), block.body)
            scope = self.scope.child(self.bindings(expansion, key))
            values = evaluate_body(block.body, scope, label, top=True)
        finally:
            self._busy.discard(cache_key)
        self._instances[cache_key] = values
        return values

    # modules --------------------------------------------------------------------------------
    def module_value(self, name: str) -> Any:
        block = self.source.modules.get(name)
        if block is None:
            return Unknown(f"module.{name} is not declared in {self.source.directory}")
        expansion = self.expansion("module", (name,), block.body)
        if expansion.unknown is not None:
            return expansion.unknown
        if expansion.mode == "single":
            return self._outputs(name, None)
        if expansion.mode == "count":
            return [self._outputs(name, k) for k in expansion.keys]
        return {k: self._outputs(name, k) for k in expansion.keys}

    def _outputs(self, name: str, key: Any) -> Any:
        child = self.child(name, key)
        if child is None:
            return Unknown(f"module.{name} is not read here: its outputs are known only after apply")
        return Namespace(f"module.{name}", child.output)

    def output(self, name: str) -> Any:
        block = self.source.outputs.get(name)
        if block is None:
            raise EvalError(f"module {self.path} has no output {name!r}")
        key = ("output", name)
        if key in self._busy:
            return Unknown(f"output {name} refers to itself")
        self._busy.add(key)
        try:
            return evaluate_safely(compile_value(block.body.get("value")), self.scope)
        finally:
            self._busy.discard(key)

    def child(self, name: str, key: Any, unknown_key: bool = False) -> ModuleInstance | None:
        """The instance of a local module call (None for registry and unreadable modules)."""
        cache_key = (name, "\x00unknown" if unknown_key else key)
        if cache_key in self._children:
            return self._children[cache_key]
        self._children[cache_key] = None  # a module calling itself stops here
        block = self.source.modules[name]
        source = self.module_source_text(block)
        directory = self.local_module_dir(source)
        child: ModuleInstance | None = None
        if directory is not None and directory not in self.lineage and self.path.count("module.") < _MAX_MODULE_DEPTH:
            loaded = self.reader.load(directory)
            if loaded is not None and loaded.files:
                inputs = self.module_inputs(name, key)
                address = f"{self.address + '.' if self.address else ''}module.{name}{'[*]' if unknown_key else _index_text(key)}"
                path = f"{self.path + '.' if self.path else ''}module.{name}"
                relative = os.path.normpath(os.path.join(self.relative_dir, source))
                child = ModuleInstance(self.reader, loaded, address, path, inputs, self.child_providers(block), False, relative)
                child.lineage = self.lineage | {loaded.directory}
        self._children[cache_key] = child
        return child

    def module_source_text(self, block: Block) -> str:
        value = evaluate_safely(compile_value(block.body.get("source")), EMPTY_SCOPE)
        return value if isinstance(value, str) else ""

    def local_module_dir(self, source: str) -> str | None:
        if not source.startswith(("./", "../")):
            return None
        return os.path.normpath(os.path.join(self.source.directory, source))

    def module_inputs(self, name: str, key: Any, unknown_key: bool = False) -> dict[str, Any]:
        block = self.source.modules[name]
        expansion = self.expansion("module", (name,), block.body)
        scope = self.scope.child(self.bindings(expansion, None if unknown_key else key))
        return {
            attribute: evaluate_safely(compile_value(raw), scope)
            for attribute, raw in block.body.items()
            if not attribute.startswith("__") and attribute not in _MODULE_META and not _is_block_list(raw)
        }

    def child_providers(self, block: Block) -> dict[str, str]:
        """A child module inherits the default (unaliased) providers; `providers = {...}` maps more."""
        mapping = {name: key for name, key in self.providers.items() if "." not in name}
        explicit = block.body.get("providers")
        if isinstance(explicit, dict):
            for child_name, parent_name in explicit.items():
                child_text = _traversal_text(child_name)
                parent_text = _traversal_text(parent_name)
                if child_text and parent_text:
                    mapping[child_text] = self.providers.get(parent_text, parent_text)
        return mapping

    def provider_key(self, block: Block, type_: str) -> str:
        explicit = block.body.get("provider")
        name = _traversal_text(explicit) if explicit is not None else None
        local = name or type_.split("_", 1)[0]
        return self.providers.get(local, local)


def _traversal_text(raw: Any) -> str | None:
    """'${aws.eu}' / 'aws' / '"aws.west"' -> 'aws.eu' / 'aws' / 'aws.west'."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1].strip()
    text = _unquote(text)
    return text if re.fullmatch(r"[A-Za-z][\w-]*(\.[A-Za-z][\w-]*)?", text) else None


def evaluate_body(body: dict[str, Any], scope: Scope, label: str, top: bool = False) -> Computed:
    """A resource body (or nested block) -> its values: attributes evaluated, nested blocks as
    lists of objects, dynamic blocks expanded over their for_each (unknown when it is)."""
    values: dict[str, Any] = {}
    for key, raw in body.items():
        if key.startswith("__") or key == "dynamic" or (top and key in _META):
            continue
        if _is_block_list(raw):
            values[key] = [evaluate_body(item, scope, label) for item in raw]
        else:
            values[key] = evaluate_safely(compile_value(raw), scope)
    for dynamic in body.get("dynamic") or []:
        if not isinstance(dynamic, dict):
            continue
        for raw_type, spec in dynamic.items():
            if raw_type.startswith("__") or not isinstance(spec, dict):
                continue
            block_type = _unquote(raw_type)
            items = evaluate_safely(compile_value(spec.get("for_each")), scope)
            iterator = _traversal_text(spec.get("iterator")) or block_type
            contents: list[Any] = spec["content"] if _is_block_list(spec.get("content")) else [{}]
            if isinstance(items, Unknown):
                values[block_type] = Unknown(*(items.causes or (f"the for_each of dynamic {block_type}",)))
                continue
            existing = values.get(block_type)
            blocks: list[Any] = list(existing) if isinstance(existing, list) else []
            if isinstance(existing, Unknown):
                continue
            try:
                pairs = list(_pairs(items))
            except EvalError as error:
                values[block_type] = Unknown(f"dynamic {block_type}: {error}")
                continue
            for item_key, item_value in pairs:
                inner = scope.child({iterator: {"key": item_key, "value": item_value}})
                blocks.extend(evaluate_body(content, inner, label) for content in contents)
            values[block_type] = blocks
    return Computed(values, label)


def _pairs(collection: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(collection, dict):
        for key in sorted(collection):
            yield key, collection[key]
    elif isinstance(collection, list):
        # a set of values iterates with key = value; a list (not valid for for_each) by index
        for index, value in enumerate(collection):
            yield (value if isinstance(value, (str, int, float)) else index), value
    elif collection is None:
        return
    else:
        raise EvalError("for_each must be a map or a set")


def body_expressions(body: dict[str, Any], top: bool = False) -> dict[str, Any]:
    """The plan-JSON `expressions` of a body: every configured attribute (with the references of
    its expression) and nested block. Dynamic blocks are included: they are configured, and a value
    they leave unknown must read as unknown, not as "not set"."""
    expressions: dict[str, Any] = {}
    for key, raw in body.items():
        if key.startswith("__") or key == "dynamic" or (top and key in _META):
            continue
        if _is_block_list(raw):
            expressions[key] = [body_expressions(item) for item in raw]
        else:
            refs = references(compile_value(raw))
            expressions[key] = {"references": refs} if refs else {}
    for dynamic in body.get("dynamic") or []:
        if not isinstance(dynamic, dict):
            continue
        for raw_type, spec in dynamic.items():
            if raw_type.startswith("__") or not isinstance(spec, dict):
                continue
            content = spec.get("content") if _is_block_list(spec.get("content")) else [{}]
            entry = body_expressions(content[0]) if content else {}
            expressions.setdefault(_unquote(raw_type), []).append(entry)
    return expressions


def to_plan_values(value: Any) -> tuple[Any, Any]:
    """An evaluated value -> (plan `after` value, `after_unknown` marker): Unknown becomes null
    with `true` in the marker tree; known parts keep their values."""
    if isinstance(value, Unknown):
        return None, True
    if isinstance(value, dict):
        after: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        for key, item in value.items():
            item_after, item_unknown = to_plan_values(item)
            after[key] = item_after
            if item_unknown:
                unknown[key] = item_unknown
        return after, (unknown or False)
    if isinstance(value, list):
        items = [to_plan_values(item) for item in value]
        markers = [marker for _, marker in items]
        return [item for item, _ in items], (markers if any(markers) else False)
    if isinstance(value, Namespace):
        return None, True
    return value, False


def _causes(value: Any, into: dict[str, str], name: str = "") -> None:
    """attribute name (leaf) -> why its value is unknown, for the notes of the request."""
    if isinstance(value, Unknown):
        if name and name not in into and value.causes:
            into[name] = value.causes[0]
    elif isinstance(value, dict):
        for key, item in value.items():
            _causes(item, into, key)
    elif isinstance(value, list):
        for item in value:
            _causes(item, into, name)


# --- building the plan -------------------------------------------------------------------------
class _Extra(msgspec.Struct):
    """What the reader knows about a resource beyond its plan shape."""

    location: SourceLocation | None = None
    waivers: tuple[Waiver, ...] | None = None
    count_unknown: Unknown | None = None
    notes: list[str] = msgspec.field(default_factory=list)
    causes: dict[str, str] = msgspec.field(default_factory=dict)
    provider_key: str = ""


class _ModuleBlockInfo(msgspec.Struct):
    path: str
    line: int
    start: int
    end: int
    text: str
    # the node-group maps written in the block: attribute -> (opening bracket, offset, end offset)
    maps: dict[str, tuple[str, int, int]] | None = None


class _Reader:
    def __init__(self, directory: str, var_files: list[str]) -> None:
        self.root_directory = os.path.abspath(directory)
        self.directory = directory
        self.var_files = var_files
        self._sources: dict[str, ModuleSource | None] = {}
        self.resources: list[PlanResource] = []
        self.extras: dict[str, _Extra] = {}
        self.provider_config: dict[str, Any] = {}
        self.provider_causes: dict[str, str] = {}
        self.config_modules: dict[str, dict[str, Any]] = {}
        self.configured: set[tuple[str, str, str]] = set()
        self.module_dirs: dict[str, str] = {}
        self._module_blocks: dict[str, dict[str, _ModuleBlockInfo]] = {}
        self._texts: dict[str, str] = {}
        self.instances_expanded = 0  # count/for_each keys so far, against MAX_INSTANCES_PER_CONFIGURATION

    def load(self, directory: str) -> ModuleSource | None:
        directory = os.path.normpath(directory)
        if directory not in self._sources:
            self._sources[directory] = load_module(directory) if os.path.isdir(directory) else None
        return self._sources[directory]

    # the walk -------------------------------------------------------------------------------
    def read(self) -> list[ComputeRequest]:
        if not os.path.isdir(self.directory):
            raise InputError(self.directory, "is not a directory")
        root_source = self.load(self.directory)
        if root_source is None or not root_source.files:
            return []
        values = root_variable_values(self.directory, self.var_files)
        root = ModuleInstance(self, root_source, "", "", values, {}, True, ".")
        root.providers = self._providers(root, {})
        self.config_modules[""] = {"resources": [], "module_calls": {}}
        self.module_dirs[""] = root_source.directory
        self._walk(root)
        return self._extract()

    def _providers(self, instance: ModuleInstance, inherited: dict[str, str]) -> dict[str, str]:
        mapping = dict(inherited)
        for block in instance.source.providers:
            name = block.labels[0]
            alias = evaluate_safely(compile_value(block.body["alias"]), EMPTY_SCOPE) if "alias" in block.body else None
            local = f"{name}.{alias}" if isinstance(alias, str) else name
            key = local if instance.root else f"{instance.path}:{local}"
            mapping[local] = key
            if key not in self.provider_config:
                self.provider_config[key] = self._provider_entry(instance, block, name, alias, key)
        return mapping

    def _provider_entry(self, instance: ModuleInstance, block: Block, name: str, alias: Any, key: str) -> dict[str, Any]:
        values = evaluate_body(block.body, instance.scope, f"provider {name}", top=True)
        entry: dict[str, Any] = {"name": name, "expressions": _constant_expressions(values, block.body)}
        if isinstance(alias, str):
            entry["alias"] = alias
        if not instance.root:
            entry["module_address"] = instance.path
        for attribute in ("region", "zone", "location"):
            value = values.get(attribute)
            if isinstance(value, Unknown) and value.causes:
                self.provider_causes[f"{key}/{attribute}"] = value.causes[0]
        return entry

    def _walk(self, instance: ModuleInstance) -> None:
        config = self.config_modules[instance.path]
        for (type_, name), block in instance.source.resources.items():
            if type_ not in EXTRACTORS and type_ not in LINKED_TYPES:
                continue
            expansion = instance.expansion("resource", (type_, name), block.body)
            provider_key = instance.provider_key(block, type_)
            if (type_, name, instance.path) not in self.configured:
                self.configured.add((type_, name, instance.path))
                config["resources"].append({
                    "address": f"{type_}.{name}",
                    "mode": "managed",
                    "type": type_,
                    "name": name,
                    "provider_config_key": provider_key,
                    "expressions": body_expressions(block.body, top=True),
                })
            prefix = instance.address + "." if instance.address else ""
            if expansion.unknown is not None:
                values = instance.instance_values(type_, name, None, unknown_key=True)
                self._add(f"{prefix}{type_}.{name}[*]", type_, name, instance, values, block, provider_key, expansion.unknown)
                continue
            for key in expansion.keys:
                values = instance.instance_values(type_, name, key)
                self._add(f"{prefix}{type_}.{name}{_index_text(key)}", type_, name, instance, values, block, provider_key, None)
        for name, block in instance.source.modules.items():
            self._walk_call(instance, name, block)

    def _walk_call(self, instance: ModuleInstance, name: str, block: Block) -> None:
        source = instance.module_source_text(block)
        expansion = instance.expansion("module", (name,), block.body)
        keys: list[tuple[Any, bool]] = [(None, True)] if expansion.unknown is not None else [(k, False) for k in expansion.keys]
        path = f"{instance.path + '.' if instance.path else ''}module.{name}"
        directory = instance.local_module_dir(source)
        loaded = self.load(directory) if directory is not None else None
        if loaded is not None and loaded.files:
            if path not in self.config_modules:
                self.config_modules[path] = {"resources": [], "module_calls": {}}
                self.config_modules[instance.path]["module_calls"][name] = {"source": source, "module": self.config_modules[path]}
                self.module_dirs[path] = loaded.directory
            for key, unknown_key in keys:
                child = instance.child(name, key, unknown_key)
                if child is None:
                    continue
                child.providers = self._providers(child, child.providers)
                before = len(self.resources)
                self._walk(child)
                if expansion.unknown is not None:
                    for resource in self.resources[before:]:
                        extra = self.extras[resource.address]
                        extra.count_unknown = extra.count_unknown or expansion.unknown
            return
        version = evaluate_safely(compile_value(block.body["version"]), EMPTY_SCOPE) if "version" in block.body else None
        known = registry_modules.recognize(source, version if isinstance(version, str) else None)
        inputs_probe = {k for k in block.body if not k.startswith("__") and k not in _MODULE_META}
        fallback_note = None
        if known is None and directory is not None:
            known = registry_modules.recognize_by_inputs(inputs_probe)
            if known is not None:
                fallback_note = (
                    f"module source {source} has no .tf files here; its inputs are those of {known.name}, "
                    f"read as that module ({known.how})"
                )
        if known is None:
            return
        for key, unknown_key in keys:
            inputs = instance.module_inputs(name, key, unknown_key)
            call_address = f"{instance.address + '.' if instance.address else ''}module.{name}{'[*]' if unknown_key else _index_text(key)}"
            self._synthesize(instance, name, block, source, known, inputs, call_address, path, expansion.unknown, fallback_note)

    def _synthesize(
        self, instance: ModuleInstance, name: str, block: Block, source: str, known: registry_modules.KnownModule,
        inputs: dict[str, Any], call_address: str, call_path: str, count_unknown: Unknown | None, note: str | None,
    ) -> None:
        providers = instance.child_providers(block)
        location = self._module_block(instance.source.directory, name)
        for synthetic in registry_modules.synthesize(known, inputs):
            module_address = call_address + (("." + synthetic.module_suffix) if synthetic.module_suffix else "")
            module_path = call_path + (("." + synthetic.module_path_suffix) if synthetic.module_path_suffix else "")
            self._ensure_config_path(module_path, call_path, source)
            provider_local = synthetic.type.split("_", 1)[0]
            provider_key = providers.get(provider_local, provider_local)
            config_key = (synthetic.type, synthetic.name, module_path)
            if config_key not in self.configured:
                self.configured.add(config_key)
                self.config_modules[module_path]["resources"].append({
                    "address": f"{synthetic.type}.{synthetic.name}",
                    "mode": "managed",
                    "type": synthetic.type,
                    "name": synthetic.name,
                    "provider_config_key": provider_key,
                    "expressions": {**{k: {} for k in synthetic.values}, **synthetic.expressions},
                })
            address = f"{module_address}.{synthetic.local_address}"
            values = Computed(synthetic.values, address)
            extra = self._add_values(address, synthetic.type, synthetic.name, module_address, values, provider_key,
                                     count_unknown or synthetic.count_unknown, synthetic.computed_when_unset)
            extra.notes.extend(synthetic.notes + ([note] if note else []))
            if location is not None:
                extra.location, extra.waivers = self._entry_location(location, synthetic.entry_attribute, synthetic.entry_key)
            else:
                extra.location, extra.waivers = SourceLocation(file=block.file), ()

    def _ensure_config_path(self, path: str, call_path: str, source: str) -> None:
        """Module calls in the configuration down to `path` (the called registry module and the
        submodules it calls), so that links between synthesized resources resolve."""
        if path in self.config_modules:
            return
        parent, separator, last = path.rpartition(".module.")
        if not separator:
            parent, last = "", path.removeprefix("module.")
        self._ensure_config_path(parent, call_path, source)
        module: dict[str, Any] = {"resources": [], "module_calls": {}}
        self.config_modules[path] = module
        self.config_modules[parent]["module_calls"][last] = {"source": source if path == call_path else "(module internal)", "module": module}

    def _add(
        self, address: str, type_: str, name: str, instance: ModuleInstance, values: Computed, block: Block,
        provider_key: str, count_unknown: Unknown | None,
    ) -> None:
        extra = self._add_values(address, type_, name, instance.address or None, values, provider_key, count_unknown,
                                 COMPUTED_WHEN_UNSET.get(type_, ()))
        extra.location = SourceLocation(file=block.file)  # the line comes from the source map

    def _add_values(
        self, address: str, type_: str, name: str, module_address: str | None, values: dict[str, Any],
        provider_key: str, count_unknown: Unknown | None, computed_when_unset: tuple[str, ...],
    ) -> _Extra:
        after, unknown = to_plan_values(values)
        unknown_map: dict[str, Any] = unknown if isinstance(unknown, dict) else {}
        for attribute in computed_when_unset or COMPUTED_WHEN_UNSET.get(type_, ()):
            if after.get(attribute) is None and attribute not in values:
                unknown_map[attribute] = True
        self.resources.append(PlanResource(
            address=address,
            type=type_,
            name=name,
            module_address=module_address or None,
            provider_name=f"registry.terraform.io/hashicorp/{type_.split('_', 1)[0]}",
            actions=("create",),
            _before=None,
            _after=after,
            _after_unknown=unknown_map,
        ))
        extra = _Extra(count_unknown=count_unknown, provider_key=provider_key)
        _causes(values, extra.causes)
        self.extras[address] = extra
        return extra

    # locations of module blocks -------------------------------------------------------------
    def _module_block(self, directory: str, name: str) -> _ModuleBlockInfo | None:
        blocks = self._module_blocks.get(directory)
        if blocks is None:
            blocks = {}
            source = self.load(directory)
            for path in source.files if source else []:
                try:
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        text = handle.read()
                except OSError:
                    continue
                for match in _BLOCK_HEAD_RE.finditer(text):
                    end = block_end(text, match.end() - 1)
                    line = text.count("\n", 0, match.start()) + 1
                    blocks.setdefault(match.group(1), _ModuleBlockInfo(path, line, match.end(), end, text))
            self._module_blocks[directory] = blocks
        return blocks.get(name)

    def _entry_location(
        self, block: _ModuleBlockInfo, attribute: str | None, key: str | None
    ) -> tuple[SourceLocation, tuple[Waiver, ...]]:
        """The line of a node group's entry inside the module block when it is written there
        (`gpu = { ... }` in a map, or `{ name = "gpu", ... }` in a list; else the module block's
        line); the waivers inside that entry, plus those of the module block outside the map."""
        text, start, end = block.text, block.start, block.end
        if block.maps is None:
            block.maps = {}
            for name in registry_modules.ENTRY_ATTRIBUTES:
                head = re.compile(rf"^[ \t]*{re.escape(name)}[ \t]*=[ \t]*([{{\[])", re.MULTILINE).search(text, start, end)
                if head:
                    block.maps[name] = (head.group(1), head.end() - 1, _bracket_end(text, head.end() - 1))
        entry_span: tuple[int, int] | None = None
        waivers = list(inline_waivers(text, block.path, start, end))
        for name, (bracket, opener, closer) in block.maps.items():
            # a waiver inside a map of node groups belongs to its entry, not to the whole module
            first, last = text.count("\n", 0, opener) + 1, text.count("\n", 0, closer) + 1
            waivers = [w for w in waivers if not (w.line is not None and first <= w.line <= last)]
            if name != attribute or key is None:
                continue
            if bracket == "{":
                entry = re.compile(rf'^[ \t]*"?{re.escape(key)}"?[ \t]*[=:][ \t]*\{{', re.MULTILINE).search(text, opener + 1, closer)
                if entry:
                    entry_span = (entry.start(), block_end(text, entry.end() - 1))
            else:
                entry_span = _list_entry(text, opener, closer, key)
        if entry_span is not None:
            waivers += list(inline_waivers(text, block.path, entry_span[0], entry_span[1]))
            line = text.count("\n", 0, entry_span[0]) + 1
        else:
            line = block.line
        return SourceLocation(file=block.path, line=line), tuple(waivers)

    # extraction -----------------------------------------------------------------------------
    def _configuration(self) -> dict[str, Any]:
        return {"provider_config": self.provider_config, "root_module": self.config_modules[""]}

    def _extract(self) -> list[ComputeRequest]:
        configuration = self._configuration()
        plan = Plan(
            path=os.path.join(self.directory, "main.tf"),
            format_version=None,
            terraform_version=None,
            resources=self.resources,
            from_planned_values=False,
            _configuration=msgspec.Raw(msgspec.json.encode(configuration)),
            _variables=msgspec.Raw(b"{}"),
        )
        context = PlanContext(plan)
        sources = SourceMap(self.module_dirs)
        requests: list[ComputeRequest] = []
        for resource in self.resources:
            entry = EXTRACTORS.get(resource.type)
            if entry is None:
                continue
            extra = self.extras[resource.address]
            location = extra.location or SourceLocation(file=plan.path)
            waivers = extra.waivers
            if waivers is None:
                block = sources.locate(context, resource)
                if block is not None:
                    location, waivers = block.location, block.waivers
                elif location.line is None:
                    location = SourceLocation(file=location.file, line=self._resource_line(location.file, resource))
            view = ResourceView(
                resource=resource,
                ctx=context,
                values=resource.after,
                unknown_map=resource.after_unknown,
                state="after",
                action=Action.CREATE,
                source=location,
            )
            found = entry[1](view)
            for request in found:
                self._finish(request, resource, extra, waivers)
            requests.extend(found)
        return requests

    def _resource_line(self, path: str, resource: PlanResource) -> int | None:
        """The line of a `resource` block the source map's scan did not match (unquoted labels)."""
        text = self._texts.get(path)
        if text is None:
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = self._texts[path] = handle.read()
            except OSError:
                return None
        pattern = rf'^[ \t]*resource[ \t]+"?{re.escape(resource.type)}"?[ \t]+"?{re.escape(resource.name)}"?[ \t]*\{{'
        match = re.search(pattern, text, re.MULTILINE)
        return text.count("\n", 0, match.start()) + 1 if match else None

    def _finish(
        self, request: ComputeRequest, resource: PlanResource, extra: _Extra, waivers: tuple[Waiver, ...] | None
    ) -> None:
        if waivers:
            request.waivers = waivers
        unknown_map = resource.after_unknown if isinstance(resource.after_unknown, dict) else {}
        partly = [name for name in ("tags", "labels") if isinstance(unknown_map.get(name), dict)]
        if partly and request.tags_known:
            # Some tag values come from values only a plan knows: the keys are there, the values
            # are not, so a tag policy must not read them as empty strings.
            request.tags_known = False
            request.mark_unknown("tags")
            missing = sorted(k for name in partly for k in unknown_map[name])
            request.note(f"tag values unknown without a plan: {', '.join(missing)}")
        for note in extra.notes:
            request.note(note)
        if extra.count_unknown is not None:
            request.quantity = Quantity(desired=None, min=None, max=None, unit=request.quantity.unit)
            request.purchase_mix = None
            request.mark_unknown("count")
            why = extra.count_unknown.causes[0] if extra.count_unknown.causes else "count/for_each is unknown"
            request.note(f"how many instances is unknown without a plan: {why}")
        for attribute in list(request.unknowns):
            cause: str | None = extra.causes.get(attribute)
            if attribute in ("region", "location") and cause is None:
                for name in ("location", "zone", "availability_zone", "region"):
                    cause = cause or extra.causes.get(name)
                for name in ("region", "zone", "location"):
                    cause = cause or self.provider_causes.get(f"{extra.provider_key}/{name}")
            if cause:
                request.note(f"{attribute} is unknown without a plan: {cause}")


def _bracket_end(text: str, opener: int) -> int:
    """The end of a `{...}` (block_end) or `[...]` starting at `opener`."""
    if text[opener] == "{":
        return block_end(text, opener)
    depth = 0
    for position in range(opener, len(text)):
        ch = text[position]
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return position + 1
    return len(text)


def _list_entry(text: str, opener: int, end: int, name: str) -> tuple[int, int] | None:
    """The `{ ... }` element of a list literal whose `name = "<name>"`."""
    position = opener + 1
    pattern = re.compile(rf'\bname[ \t]*=[ \t]*"{re.escape(name)}"')
    while True:
        brace = text.find("{", position, end)
        if brace < 0:
            return None
        close = block_end(text, brace)
        if pattern.search(text, brace, close):
            return brace, close
        position = close


def _constant_expressions(values: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Plan-JSON expressions of a provider block: constants where the value is known."""
    expressions: dict[str, Any] = {}
    for key, value in values.items():
        raw = body.get(key)
        if isinstance(value, list) and isinstance(raw, list) and _is_block_list(raw):
            expressions[key] = [
                _constant_expressions(item, block) for item, block in zip(value, raw) if isinstance(item, dict)
            ]
            continue
        if _is_known(value):
            expressions[key] = {"constant_value": _plain(value)}
        else:
            refs = references(compile_value(raw)) if raw is not None else []
            expressions[key] = {"references": refs} if refs else {}
    return expressions


def _is_known(value: Any) -> bool:
    if isinstance(value, (Unknown, Namespace)):
        return False
    if isinstance(value, dict):
        return all(_is_known(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_known(v) for v in value)
    return True


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_hcl_requests(directory: str, var_files: list[str] | None = None) -> list[ComputeRequest]:
    """Every compute request of the Terraform root module in `directory` (all its *.tf files),
    with terraform.tfvars, *.auto.tfvars and then `var_files` applied, like `terraform plan`."""
    return _Reader(directory, list(var_files or [])).read()

