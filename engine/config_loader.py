"""Find, read and compose policy files. Every problem is a ConfigError naming the file and line.

A file is validated by `engine.config_fastpath` when it plainly can be, else by pydantic
(`engine.config`), which words the errors; either way the result is `engine.config_types`.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import TYPE_CHECKING, Any

import msgspec
import yaml

from tollgate.engine.config_fastpath import build_policy_file
from tollgate.engine.config_types import CLASSES, Cluster, ExceptionEntry, PolicyFile, Settings
from tollgate.engine.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel

CONFIG_NAMES = ("tollgate.yaml", "tollgate.yml", ".tollgate.yaml")
DEFAULT_PACK = "default"
_POLICY_TYPE_NAMES = {"budget", "instance_type", "region", "spot", "tags", "approval"}


class ActiveConfig(msgspec.Struct):
    """The policies in force after `extends` is applied, and where they came from."""

    path: str  # the file, or "builtin:default"
    settings: Settings
    policies: list[Any]  # engine.config_types.Policy instances, in order
    exceptions: list[ExceptionEntry]
    cluster: Cluster | None = None
    origins: dict[str, str] = msgspec.field(default_factory=dict)  # policy id -> file or pack that defined it


def find_config(start: str) -> str | None:
    """The nearest tollgate.yaml from `start` up to the filesystem root."""
    directory = os.path.abspath(start)
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_active_config(explicit: str | None, cwd: str | None = None) -> ActiveConfig:
    """--config FILE, else the nearest tollgate.yaml up from the working directory, else the
    built-in default pack."""
    path = explicit or find_config(cwd or os.getcwd())
    if path is None:
        return compose(_builtin(DEFAULT_PACK), f"builtin:{DEFAULT_PACK}")
    return compose(parse_policy_file(path, _read(path)), path)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ConfigError(path, "policy file not found") from None
    except IsADirectoryError:
        raise ConfigError(path, "is a directory, expected a tollgate.yaml file") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(path, f"cannot be read: {error.strerror or error}") from None


def parse_policy_file(path: str, text: str) -> PolicyFile:
    # One pass with libyaml when it is there: the nodes keep the line marks errors are reported
    # at, and the data is constructed from those same nodes.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(path, f"invalid YAML: {error.problem or error}", line) from None
    except yaml.YAMLError as error:
        raise ConfigError(path, f"invalid YAML: {error}") from None
    except ValueError as error:  # a scalar PyYAML resolves but cannot build: 2020-13-45, a 5,000-digit number
        raise ConfigError(path, f"invalid YAML: a value cannot be read: {str(error).split(';')[0]}") from None
    finally:
        loader.dispose()
    if data is None:
        raise ConfigError(path, "is empty; a policy file starts with `version: 1`", 1)
    if not isinstance(data, dict):
        raise ConfigError(path, "must be a mapping with `version: 1` at the top", 1)
    # Fix (tests/unit/test_config_loader.py): YAML silently keeps the last of two equal keys, so a
    # second `policies:` dropped every policy above it (fail-open); report it with both lines.
    duplicate = _duplicate_key(node, (), set())
    if duplicate is not None:
        location, line, first_line = duplicate
        raise ConfigError(path, f"{_format_location(location)}: key given twice (first at line {first_line})", line)
    # Fix: duplicate policy ids were reported at line 1 with no field; name the second id's line.
    _check_unique_ids(path, node, data)
    policy_file = build_policy_file(data) or _validate_with_pydantic(path, node, data)
    # Fix: an unknown `extends` pack was reported against "builtin:<name>" with no line; name the
    # user's file, the entry's line and its field instead.
    packs = builtin_packs()
    for index, entry in enumerate(policy_file.extends):
        name = entry.split(":", 1)[1]
        if name not in packs:
            raise ConfigError(
                path,
                f"extends[{index}]: no built-in pack named {name!r} (available: {', '.join(packs)})",
                _line_of(node, ("extends", index)),
            )
    return policy_file


def validate_policy_file(data: Any) -> PolicyFile:
    """A policy file's data (already parsed YAML) validated as a tollgate.yaml, for callers that
    hold data rather than a file; pydantic's ValidationError when it is invalid."""
    from tollgate.engine import config

    return build_policy_file(data) or runtime(config.PolicyFile.model_validate(data))


def validate_cluster(data: Any) -> Cluster:
    """A `cluster:` profile's data validated, as in a tollgate.yaml."""
    validated = validate_policy_file({"version": 1, "cluster": data}).cluster
    assert validated is not None
    return validated


def runtime(model: BaseModel) -> Any:
    """A validated pydantic model of `engine.config` as its `engine.config_types` twin."""
    from pydantic import BaseModel

    def convert(value: Any) -> Any:
        if isinstance(value, BaseModel):
            cls = CLASSES[type(value).__name__]
            return cls(**{name: convert(getattr(value, name)) for name in cls.__struct_fields__})
        if isinstance(value, list):
            return [convert(item) for item in value]
        if isinstance(value, dict):
            return {key: convert(item) for key, item in value.items()}
        return value

    return convert(model)


def _validate_with_pydantic(path: str, node: Any, data: dict[str, Any]) -> PolicyFile:
    from pydantic import ValidationError

    from tollgate.engine import config

    try:
        validated: PolicyFile = runtime(config.PolicyFile.model_validate(data))
        return validated
    except ValidationError as error:
        first = error.errors()[0]
        location = tuple(first["loc"])
        # A bad or missing discriminator is the `type:` line's fault, not the list item's.
        line = _line_of(node, location + ("type",) if first["type"].startswith("union_tag") else location)
        field_path = _format_location(location)
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown key (not part of the tollgate.yaml schema; see `tollgate schema`)"
        elif first["type"] == "value_error":
            message = message.removeprefix("Value error, ")  # pydantic's prefix says nothing to a user
        more = f" (and {error.error_count() - 1} more problems)" if error.error_count() > 1 else ""
        raise ConfigError(path, f"{field_path}: {message}{more}" if field_path else message + more, line) from None


def _duplicate_key(node: Any, location: tuple[Any, ...], visited: set[int]) -> tuple[tuple[Any, ...], int, int] | None:
    """The first mapping key given twice: (field location, its line, the first one's line)."""
    if id(node) in visited:  # aliases may share (or loop back to) a node
        return None
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    return location + (key_node.value,), line, seen[key_node.value]
                seen[key_node.value] = line
            found = _duplicate_key(value_node, location + (getattr(key_node, "value", "?"),), visited)
            if found is not None:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _duplicate_key(item, location + (index,), visited)
            if found is not None:
                return found
    return None


def _check_unique_ids(path: str, node: Any, data: dict[str, Any]) -> None:
    policies = data.get("policies")
    if not isinstance(policies, list):
        return
    first_index: dict[str, int] = {}
    for index, policy in enumerate(policies):
        policy_id = policy.get("id") if isinstance(policy, dict) else None
        if not isinstance(policy_id, str):
            continue
        if policy_id in first_index:
            first_line = _line_of(node, ("policies", first_index[policy_id], "id"))
            raise ConfigError(
                path,
                f"policies[{index}].id: policy id {policy_id!r} is used twice in this file (first at line {first_line})",
                _line_of(node, ("policies", index, "id")),
            )
        first_index[policy_id] = index


def _line_of(node: Any, location: tuple[Any, ...]) -> int | None:
    """Walk the YAML node tree along a pydantic error location; the deepest node found gives the line."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    current = node
    for key in location:
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if key_node.value == str(key):
                    line = key_node.start_mark.line + 1
                    current = value_node
                    break
            # a key that is not in the mapping is a union tag (e.g. 'budget'): stay where we are
        elif isinstance(current, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(current.value):
            current = current.value[key]
            line = current.start_mark.line + 1
    return line


def _format_location(location: tuple[Any, ...]) -> str:
    text = ""
    previous: Any = None
    for key in location:
        if isinstance(key, int):
            text += f"[{key}]"
        elif isinstance(previous, int) and key in _POLICY_TYPE_NAMES:
            pass  # the discriminated-union tag pydantic inserts after a list index
        elif isinstance(key, str) and (key.startswith(("function-", "constrained-")) or key == "[key]"):
            pass  # "[key]": pydantic marks a bad dict key this way (allow.oracle.[key] -> allow.oracle)
        else:
            text += f".{key}" if text else str(key)
        previous = key
    return text


def _builtin(name: str) -> PolicyFile:
    pack = resources.files("tollgate.policies") / f"{name}.yaml"
    label = f"builtin:{name}"
    if not pack.is_file():
        raise ConfigError(label, f"no built-in pack named {name!r} (available: {', '.join(builtin_packs())})")
    return parse_policy_file(label, pack.read_text(encoding="utf-8"))


def builtin_packs() -> list[str]:
    folder = resources.files("tollgate.policies")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def compose(policy_file: PolicyFile, path: str, _seen: tuple[str, ...] = ()) -> ActiveConfig:
    """Apply `extends` in order, then the file's own policies; a later policy replaces an earlier
    one with the same id."""
    ordered: dict[str, Any] = {}
    origins: dict[str, str] = {}
    exceptions: list[ExceptionEntry] = []
    for entry in policy_file.extends:
        name = entry.split(":", 1)[1]
        if name in _seen:
            raise ConfigError(path, f"extends cycle through builtin:{name}")
        base = compose(_builtin(name), f"builtin:{name}", _seen + (name,))
        for policy in base.policies:
            ordered.pop(policy.id, None)
            ordered[policy.id] = policy
            origins[policy.id] = base.origins[policy.id]
        exceptions.extend(base.exceptions)
    for policy in policy_file.policies:
        ordered.pop(policy.id, None)
        ordered[policy.id] = policy
        origins[policy.id] = path
    exceptions.extend(policy_file.exceptions)
    return ActiveConfig(
        path=path,
        settings=policy_file.settings,
        policies=list(ordered.values()),
        exceptions=exceptions,
        cluster=policy_file.cluster,
        origins=origins,
    )
