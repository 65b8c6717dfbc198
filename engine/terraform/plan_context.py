"""Everything about a plan that is not one resource's own payload: the configuration tree,
provider configurations (regions), variables, and links between resources.

Resources often only point at what matters: an ASG's instance type lives in its launch template,
whose id is unknown until apply. The configuration section still records the reference
(`aws_launch_template.x.id`), so links are resolved through it, and by literal names where the
resource refers to another by name.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, Iterator

from tollgate.engine.terraform.plan_file import Plan, PlanResource, split_address

_INDEX_RE = re.compile(r"\[[^\]]*\]$")
_AWS_ZONE_RE = re.compile(r"^([a-z]{2}(?:-gov)?-[a-z]+-\d+)[a-z]$")


def strip_index(text: str) -> str:
    """'aws_instance.worker[0]' -> 'aws_instance.worker'; 'module.a["x"]' -> 'module.a'."""
    return _INDEX_RE.sub("", text)


def index_suffix(address: str) -> str:
    match = _INDEX_RE.search(address)
    return match.group(0) if match else ""


class PlanContext:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.configuration = plan.configuration()
        self.variables = plan.variables()
        self.by_address: dict[str, PlanResource] = {r.address: r for r in plan.resources}
        self._attribute_index: dict[tuple[str, str], dict[str, list[PlanResource]]] = {}

    # --- configuration tree -------------------------------------------------------------------
    def _module_config(self, module_address: str | None) -> dict[str, Any] | None:
        module = self.configuration.get("root_module")
        if not isinstance(module, dict):
            return None
        if not module_address:
            return module
        parts = split_address(module_address)
        for i in range(0, len(parts) - 1, 2):
            name = strip_index(parts[i + 1])
            call = (module.get("module_calls") or {}).get(name)
            if not isinstance(call, dict) or not isinstance(call.get("module"), dict):
                return None
            module = call["module"]
        return module

    @cached_property
    def _resource_configs(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(module path without instance keys, resource address without index) -> config block."""
        index: dict[tuple[str, str], dict[str, Any]] = {}
        root = self.configuration.get("root_module")
        stack: list[tuple[str, Any]] = [("", root)]
        while stack:
            path, module = stack.pop()
            if not isinstance(module, dict):
                continue
            for block in module.get("resources") or []:
                if isinstance(block, dict) and isinstance(block.get("address"), str):
                    index[(path, block["address"])] = block
            for name, call in (module.get("module_calls") or {}).items():
                if isinstance(call, dict):
                    child = f"{path}.module.{name}" if path else f"module.{name}"
                    stack.append((child, call.get("module")))
        return index

    def module_path(self, resource: PlanResource) -> str:
        if not resource.module_address:
            return ""
        parts = split_address(resource.module_address)
        return ".".join(strip_index(p) for p in parts)

    def local_address(self, resource: PlanResource) -> str:
        """The address inside its module, without index: 'aws_instance.worker'."""
        prefix = resource.module_address + "." if resource.module_address else ""
        local = resource.address[len(prefix):] if resource.address.startswith(prefix) else resource.address
        return strip_index(local)

    def resource_config(self, resource: PlanResource) -> dict[str, Any] | None:
        return self._resource_configs.get((self.module_path(resource), self.local_address(resource)))

    def expressions(self, resource: PlanResource) -> dict[str, Any]:
        config = self.resource_config(resource)
        expressions = config.get("expressions") if config else None
        return expressions if isinstance(expressions, dict) else {}

    def is_configured(self, resource: PlanResource, attribute: str) -> bool | None:
        """Whether the configuration sets `attribute` (a dynamic block counts). None: no configuration."""
        config = self.resource_config(resource)
        if config is None:
            return None
        # Dynamic blocks are absent from the plan's configuration section in every Terraform version
        # seen, so an attribute set only through `dynamic` reads as "not configured" here; its value
        # is then known in `after` whenever its for_each is known.
        return attribute in (config.get("expressions") or {})

    # --- links between resources --------------------------------------------------------------
    def referenced(self, resource: PlanResource, attribute: str, target_type: str) -> list[PlanResource]:
        """Resources of `target_type` that `attribute` of `resource` refers to in the configuration."""
        expression = self.expressions(resource).get(attribute)
        found: list[PlanResource] = []
        seen: set[str] = set()
        for reference in _references(expression):
            parts = reference.split(".")
            if len(parts) < 2 or parts[0] != target_type:
                continue
            local = f"{parts[0]}.{strip_index(parts[1])}"
            for target in self._instances_of(resource, local, index_suffix(parts[1])):
                if target.address not in seen:
                    seen.add(target.address)
                    found.append(target)
        return found

    def _instances_of(self, resource: PlanResource, local: str, explicit_index: str) -> Iterator[PlanResource]:
        prefix = resource.module_address + "." if resource.module_address else ""
        exact = self.by_address.get(prefix + local + explicit_index)
        if exact is not None:
            yield exact
            return
        # The target uses count/for_each: pair it with the same index as the resource, if any.
        same_index = self.by_address.get(prefix + local + index_suffix(resource.address))
        if same_index is not None:
            yield same_index
            return
        yield from self._by_base_address.get(prefix + local, ())

    @cached_property
    def _by_base_address(self) -> dict[str, list[PlanResource]]:
        """'module.m.aws_launch_template.x' -> its count/for_each instances."""
        index: dict[str, list[PlanResource]] = {}
        for address, resource in self.by_address.items():
            base = strip_index(address)
            if base != address:
                index.setdefault(base, []).append(resource)
        return index

    def find_by_attribute(self, target_type: str, attribute: str, value: str) -> list[PlanResource]:
        """Resources of a type whose attribute equals a literal (a launch template by name).
        Indexed per (type, attribute) on first use, so a plan with many groups stays linear."""
        key = (target_type, attribute)
        index = self._attribute_index.get(key)
        if index is None:
            index = {}
            for resource in self._by_type.get(target_type, ()):
                found = resource.values_in("after").get(attribute)
                if isinstance(found, str):
                    index.setdefault(found, []).append(resource)
            self._attribute_index[key] = index
        return index.get(value, [])

    @cached_property
    def _by_type(self) -> dict[str, list[PlanResource]]:
        index: dict[str, list[PlanResource]] = {}
        for resource in self.plan.resources:
            index.setdefault(resource.type, []).append(resource)
        return index

    # --- providers and regions ----------------------------------------------------------------
    def provider_config(self, resource: PlanResource, provider_local_name: str) -> dict[str, Any] | None:
        configs = self.configuration.get("provider_config") or {}
        block = self.resource_config(resource)
        key = block.get("provider_config_key") if block else None
        candidates: list[str] = []
        if isinstance(key, str):
            candidates.append(key)
            if ":" in key:
                # Old-style keys are "<module>:<provider>"; a module without its own provider block
                # inherits the root's configuration of the same name.
                candidates.append(key.split(":", 1)[1])
        candidates.append(provider_local_name)
        for candidate in candidates:
            config = configs.get(candidate)
            if isinstance(config, dict):
                return config
        return None

    def provider_attribute(self, resource: PlanResource, provider_local_name: str, attribute: str) -> str | None:
        """A provider argument's value when it is a constant or a root variable with a value."""
        config = self.provider_config(resource, provider_local_name)
        if config is None:
            return None
        expression = (config.get("expressions") or {}).get(attribute)
        return self.resolve_string(expression, root_scope=not config.get("module_address"))

    def resolve_string(self, expression: Any, root_scope: bool = True) -> str | None:
        if not isinstance(expression, dict):
            return None
        constant = expression.get("constant_value")
        if isinstance(constant, str):
            return constant
        if root_scope:
            for reference in expression.get("references") or []:
                if isinstance(reference, str) and reference.startswith("var."):
                    variable = self.variables.get(reference[4:])
                    if isinstance(variable, dict) and isinstance(variable.get("value"), str):
                        return str(variable["value"])
        return None

    def default_tags(self, resource: PlanResource) -> dict[str, str]:
        config = self.provider_config(resource, "aws")
        if not config:
            return {}
        blocks = (config.get("expressions") or {}).get("default_tags")
        tags: dict[str, str] = {}
        for block in blocks if isinstance(blocks, list) else []:
            constant = (block.get("tags") or {}).get("constant_value") if isinstance(block, dict) else None
            if isinstance(constant, dict):
                tags.update({str(k): str(v) for k, v in constant.items()})
        return tags


def aws_region_from_zone(zone: str | None) -> str | None:
    if not zone:
        return None
    match = _AWS_ZONE_RE.match(zone)
    return match.group(1) if match else None




def _references(expression: Any) -> Iterator[str]:
    """Every reference string anywhere inside an expression tree (blocks nest as lists/dicts)."""
    stack: list[Any] = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "references" and isinstance(value, list):
                    yield from (v for v in value if isinstance(v, str))
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)

