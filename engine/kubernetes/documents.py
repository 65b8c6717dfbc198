"""Multi-document YAML -> documents with the line of each (the line of its `kind:`).

One loader walks the whole stream (PyYAML's C parser when it is there): each document is composed
into nodes, whose marks give the exact line of its `kind:` key (and of each `List` item's), then
constructed. Parse errors carry the line in the file. Helm's `# Source: chart/templates/x.yaml`
comments are matched to the document that follows them.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import msgspec
import yaml

from tollgate.engine.errors import InputError

# The C loader is ~10x faster; fall back when PyYAML was built without libyaml.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MAX_INT_DIGITS = 4300  # Python's int() limit on decimal strings (sys.get_int_max_str_digits)
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
_SCALAR = yaml.ScalarNode


class _Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader with a memo on implicit tag resolution: PyYAML resolves every plain scalar
    through a Python loop of regular expressions, and a manifest file repeats the same few hundred
    keys and values ("name", "resources", "cpu") thousands of times. Same tags, same answers."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._resolved: dict[str, str] = {}
        # Without path resolvers (the safe loader has none), a quoted scalar, a sequence and a
        # mapping always get their kind's default tag.
        self._defaults = (
            None if self.yaml_path_resolvers
            else {yaml.ScalarNode: _STR, yaml.SequenceNode: _SEQ, yaml.MappingNode: _MAP}
        )

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._resolved.get(value)
            if tag is None:
                tag = self._resolved[value] = super().resolve(kind, value, implicit)
            return tag
        if self._defaults is not None:
            return self._defaults[kind]
        return super().resolve(kind, value, implicit)


class _Builder:
    """Nodes -> Python objects, as PyYAML's SafeConstructor builds them, without its per-node
    generator machinery (twice as fast on manifests). Strings, plain integers, booleans, nulls,
    maps and sequences are built here; every other tag (floats, timestamps, merges, sets, binary)
    is handed to PyYAML's own constructor, so the result is the same object PyYAML would build."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        self._built: dict[int, Any] = {}  # aliases: one object per node, as PyYAML shares them

    def build(self, node: Any) -> Any:
        kind = type(node)
        if kind is yaml.ScalarNode:
            tag = node.tag
            if tag == _STR:
                return node.value
            value = node.value
            if tag == _INT and value.isdigit() and (value[0] != "0" or value == "0") and len(value) <= _MAX_INT_DIGITS:  # "0755" is octal in YAML 1.1
                return int(value)
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return node.value.lower() in ("yes", "true", "on")
            return self._delegate(node)
        built = self._built.get(id(node))
        if built is not None:
            return built
        if kind is yaml.MappingNode and node.tag == _MAP and not any(key.tag == _MERGE for key, _ in node.value):
            mapping: dict[Any, Any] = {}
            self._built[id(node)] = mapping
            for key_node, value_node in node.value:
                # Most keys and values are plain strings: taken inline, without a call each.
                # A bare `=` key resolves to !!value, which PyYAML's mappings take as the string.
                key_tag = key_node.tag
                if (key_tag == _STR or key_tag == _VALUE) and type(key_node) is _SCALAR:
                    key = key_node.value
                else:
                    key = self.build(key_node)
                try:
                    if value_node.tag == _STR and type(value_node) is _SCALAR:
                        mapping[key] = value_node.value
                    else:
                        mapping[key] = self.build(value_node)
                except TypeError:  # an unhashable key: PyYAML's constructor words the error
                    return self._delegate(node)
            return mapping
        if kind is yaml.SequenceNode and node.tag == _SEQ:
            sequence: list[Any] = []
            self._built[id(node)] = sequence
            sequence.extend(item.value if item.tag == _STR and type(item) is _SCALAR else self.build(item) for item in node.value)
            return sequence
        return self._delegate(node)

    def _delegate(self, node: Any) -> Any:
        loader = self._loader
        try:
            return loader.construct_object(node, deep=True)
        except ValueError as error:  # e.g. an integer longer than Python converts (4,300 digits)
            written = str(node.value)
            shown = repr(written) if len(written) <= 40 else repr(written[:40]) + "…"
            problem = f"cannot read the value {shown}: {str(error).split(';')[0]}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None
        finally:
            loader.constructed_objects = {}
            loader.recursive_objects = {}

_HELM_SOURCE_RE = re.compile(r"^#[ \t]*Source:[ \t]*([^\s:]+/[^\s:]+)[ \t]*$", re.MULTILINE)  # chart/templates/x.yaml, not a URL


class Document(msgspec.Struct, frozen=True):
    """One YAML document (or one item of a `List`), with where it is in its file."""

    obj: Any
    line: int | None = None  # 1-based line of its `kind:` (else its first line)
    helm_source: str | None = None  # the template a `# Source:` comment names


def decode(data: bytes, path: str) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(path, f"is not UTF-8 text (byte {error.start})") from None


def load(text: str, path: str) -> Iterator[Document]:
    sources = [(text.count("\n", 0, m.start()), m.group(1)) for m in _HELM_SOURCE_RE.finditer(text)] if "Source:" in text else []
    loader = _Loader(text)
    previous_end = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            start, end = node.start_mark.line, node.end_mark.line
            helm_source = next((name for line, name in reversed(sources) if previous_end <= line <= start), None)
            previous_end = end
            try:
                obj = _Builder(loader).build(node)
            except RecursionError:  # hundreds of levels: no Kubernetes object is built like that
                raise InputError(path, f"invalid YAML at line {start + 1}: the document nests too deeply to read") from None
            if obj is None:
                continue
            if _is_list(obj) and isinstance(node, yaml.MappingNode):
                yield from _items(obj, node, helm_source)
            else:
                yield Document(obj, _kind_line(node), helm_source)
    except yaml.YAMLError as error:
        raise _invalid(path, error) from None
    finally:
        loader.dispose()


def _kind_line(node: Any) -> int:
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "kind":
                return int(key.start_mark.line) + 1
    return int(node.start_mark.line) + 1


def _is_list(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("kind"), str) and str(obj["kind"]).endswith("List") and isinstance(obj.get("items"), list)


def _items(obj: dict[str, Any], node: Any, helm_source: str | None) -> Iterator[Document]:
    """The items of a `List` (kind List, DeploymentList, ...), each at the line of its own `kind:`."""
    item_nodes: list[Any] = []
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "items" and isinstance(value, yaml.SequenceNode):
            item_nodes = list(value.value)
    for index, item in enumerate(obj["items"]):
        item_node = item_nodes[index] if index < len(item_nodes) else node
        if _is_list(item) and isinstance(item_node, yaml.MappingNode):
            yield from _items(item, item_node, helm_source)
        else:
            yield Document(item, _kind_line(item_node), helm_source)


def _invalid(path: str, error: yaml.YAMLError) -> InputError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or getattr(error, "context", None) or str(error).splitlines()[0]
    if mark is not None:
        return InputError(path, f"invalid YAML at line {mark.line + 1}: {problem}")
    return InputError(path, f"invalid YAML: {problem}")
