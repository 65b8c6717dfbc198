"""A tollgate.yaml validated without pydantic, when it plainly needs none of pydantic's work.

Importing pydantic and building the schema's models costs more than reading a thousand manifests'
worth of requests, and a file that is already exactly right needs none of it. This validator
walks the data against the committed JSON Schema (policies/tollgate.schema.json, generated from
`engine.config` and held identical to it by a test) and builds `engine.config_types` directly.

It only ever accepts; it never words an error. Whatever it is not certain pydantic would take
unchanged (a value pydantic would coerce, such as "5" for an integer or a quoted date; an unknown
key; a failed check; a schema keyword this walker does not know) makes it refuse, and the caller
validates with pydantic, which accepts with its coercions or reports the problem with its own
words. tests/unit/test_config_fastpath.py checks that whatever is accepted here pydantic accepts
too, with the same values.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable

import msgspec

from tollgate.engine import config_types
from tollgate.engine.config_types import CLASSES, PolicyFile

SCHEMA_FILE = "tollgate.schema.json"
_ANNOTATIONS = frozenset({"title", "description", "default"})  # keywords that do not constrain


class _Refused(Exception):
    """Not certain: leave this file to pydantic."""


def schema_path() -> str:
    import tollgate.policies

    return os.path.join(os.path.dirname(tollgate.policies.__file__), SCHEMA_FILE)


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    with open(schema_path(), encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def build_policy_file(data: Any) -> PolicyFile | None:
    """The validated file, or None: pydantic must decide."""
    schema = _schema()
    try:
        built = _Walker(schema["$defs"]).build_object(data, schema, PolicyFile)
    except (_Refused, KeyError, TypeError, ValueError):
        # KeyError/TypeError: a schema shape this walker was not written for; ValueError: one of
        # the checks a schema cannot say failed. pydantic words either.
        return None
    assert isinstance(built, PolicyFile)
    return built


class _Walker:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs

    def value(self, data: Any, node: dict[str, Any], convert: Callable[[Any], Any] | None) -> Any:
        """`data` checked against one schema node and built; `convert` turns an accepted number
        into the field's Python type (Decimal, float)."""
        unknown = node.keys() - _KNOWN_KEYWORDS
        if unknown:
            raise _Refused(f"schema keyword {sorted(unknown)}")
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return self.build_object(data, self.defs[name], CLASSES[name])
        if "anyOf" in node:
            for branch in node["anyOf"]:
                try:
                    return self.value(data, branch, convert)
                except _Refused:
                    continue
            raise _Refused("no branch of anyOf")
        if "oneOf" in node:
            mapping = node["discriminator"]["mapping"]
            tag = data.get(node["discriminator"]["propertyName"]) if type(data) is dict else None
            if type(tag) is not str or tag not in mapping:
                raise _Refused("discriminator")
            return self.value(data, {"$ref": mapping[tag]}, convert)
        if "const" in node:
            const = node["const"]
            if type(data) is not type(const) or data != const:  # True == 1, but `version: true` is not 1
                raise _Refused("const")
            return data
        if "enum" in node and not any(type(data) is type(option) and data == option for option in node["enum"]):
            raise _Refused("enum")
        return self._typed(data, node, convert)

    def _typed(self, data: Any, node: dict[str, Any], convert: Callable[[Any], Any] | None) -> Any:
        kind = node.get("type")
        if kind == "string":
            if node.get("format") == "date":
                # YAML gives an unquoted date as a date; a string pydantic would parse is its call.
                if type(data) is not dt.date:
                    raise _Refused("date")
                return data
            if type(data) is not str or "format" in node:
                raise _Refused("string")
            if "pattern" in node and ("\n" in data or re.search(node["pattern"], data) is None):
                raise _Refused("pattern")  # (no newline: Python's `$` also matches before one)
            return data
        if kind == "integer":
            if type(data) is not int:
                raise _Refused("integer")
            self._bounds(data, node)
            return data
        if kind == "number":
            if type(data) not in (int, float) or (type(data) is float and not math.isfinite(data)):
                raise _Refused("number")
            self._bounds(data, node)
            return convert(data) if convert is not None else data
        if kind == "boolean":
            if type(data) is not bool:
                raise _Refused("boolean")
            return data
        if kind == "null":
            if data is not None:
                raise _Refused("null")
            return None
        if kind == "array":
            if type(data) is not list or len(data) < node.get("minItems", 0):
                raise _Refused("array")
            items = node.get("items", {})
            return [self.value(item, items, convert) for item in data]
        if kind == "object" and "properties" not in node:
            if type(data) is not dict:
                raise _Refused("object")
            keys = node.get("propertyNames", {"type": "string"})
            values = node.get("additionalProperties", {})
            if values is False:
                raise _Refused("a mapping that allows no keys")  # not in the schema today; never guess
            if values is True:
                values = {}  # any value
            return {self.value(key, keys, None): self.value(item, values, None) for key, item in data.items()}
        if kind is None and node.keys() <= _ANNOTATIONS | {"enum"}:
            return data  # Any, or an enum already checked (dict keys of a Literal)
        raise _Refused(f"type {kind!r}")

    @staticmethod
    def _bounds(value: int | float, node: dict[str, Any]) -> None:
        if "minimum" in node and not value >= node["minimum"]:
            raise _Refused("minimum")
        if "maximum" in node and not value <= node["maximum"]:
            raise _Refused("maximum")
        if "exclusiveMinimum" in node and not value > node["exclusiveMinimum"]:
            raise _Refused("exclusiveMinimum")
        if "exclusiveMaximum" in node and not value < node["exclusiveMaximum"]:
            raise _Refused("exclusiveMaximum")

    def build_object(self, data: Any, node: dict[str, Any], cls: type[Any]) -> Any:
        if type(data) is not dict or node.get("type") != "object" or node.get("additionalProperties") is not False:
            raise _Refused("object")
        properties: dict[str, Any] = node["properties"]
        if any(type(key) is not str or key not in properties for key in data):
            raise _Refused("unknown key")
        if any(name not in data for name in node.get("required", ())):
            raise _Refused("required")
        declared = _declared(cls)
        if declared.keys() != properties.keys():
            raise _Refused(f"{cls.__name__} and the schema disagree")  # a key added to one side only
        kwargs = {name: self.value(item, properties[name], _CONVERSIONS.get(declared[name].type)) for name, item in data.items()}
        for name, spec in declared.items():
            if name not in kwargs and spec.required:
                raise _Refused("required")
        built = cls(**kwargs)
        _CHECKS.get(cls, _no_check)(built)
        return built


_DECLARED: dict[type[Any], dict[str, msgspec.structs.FieldInfo]] = {}


def _declared(cls: type[Any]) -> dict[str, msgspec.structs.FieldInfo]:
    """The fields of a config class with their evaluated types, looked up once per class."""
    found = _DECLARED.get(cls)
    if found is None:
        found = _DECLARED[cls] = {spec.name: spec for spec in msgspec.structs.fields(cls)}
    return found


def _no_check(_: Any) -> None:
    return None


def _decimal(number: int | float) -> Decimal:
    return Decimal(number) if type(number) is int else Decimal(str(number))  # as pydantic: 0.1 -> Decimal("0.1")


def _float(number: int | float) -> float:
    return float(number)


# A number becomes the field's declared type: pydantic gives a Decimal field a Decimal, a float field a float.
_CONVERSIONS: dict[Any, Callable[[Any], Any]] = {
    Decimal: _decimal,
    Decimal | None: _decimal,
    float: _float,
    float | None: _float,
}

def _check_tags(policy: config_types.TagsPolicy) -> None:
    config_types.check_patterns_compile(policy.patterns)


def _check_endpoints(endpoints: config_types.Endpoints) -> None:
    for name in endpoints.__struct_fields__:
        config_types.check_endpoint_url(getattr(endpoints, name))


def _check_file(policy_file: PolicyFile) -> None:
    config_types.check_extends_builtin_only(policy_file.extends)
    config_types.check_unique_policy_ids(policy_file.policies)


# The model and field validators of `engine.config`, by class: the same functions.
_CHECKS: dict[type[Any], Callable[[Any], None]] = {
    config_types.BudgetPolicy: config_types.check_budget_has_a_limit,
    config_types.TagsPolicy: _check_tags,
    config_types.Endpoints: _check_endpoints,
    PolicyFile: _check_file,
}

_KNOWN_KEYWORDS = frozenset(
    {
        "$ref", "anyOf", "oneOf", "discriminator", "const", "enum", "type", "format", "pattern", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "items", "minItems", "properties", "additionalProperties",
        "propertyNames", "required", "$defs", "$schema",
    }
) | _ANNOTATIONS
