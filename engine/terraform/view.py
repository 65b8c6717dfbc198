"""A read-only view of one state (before or after) of one plan resource, and the registry of
resource types that ask for compute.

Extractors read values through `ResourceView` so that "unknown at plan time" is never confused
with "not set": `view.unknown("instance_type")` is true only where `after_unknown` says `true`.
"""

from __future__ import annotations

from typing import Any, Callable

import msgspec

from tollgate.engine.errors import InputError
from tollgate.engine.model import (
    Action,
    ComputeRequest,
    NodeGroupNodes,
    Provider,
    PurchaseOption,
    Quantity,
    SourceLocation,
    WorkloadClass,
)
from tollgate.engine.terraform.plan_context import PlanContext, strip_index
from tollgate.engine.terraform.plan_file import PlanResource, split_address

Extractor = Callable[["ResourceView"], list[ComputeRequest]]

# resource type -> (provider, extractor). Filled by the per-provider modules at import time.
EXTRACTORS: dict[str, tuple[Provider, Extractor]] = {}


def extractor(resource_type: str, provider: Provider) -> Callable[[Extractor], Extractor]:
    def register(function: Extractor) -> Extractor:
        if resource_type in EXTRACTORS:
            raise RuntimeError(f"two extractors registered for {resource_type}")
        EXTRACTORS[resource_type] = (provider, function)
        return function

    return register


class ResourceView(msgspec.Struct):
    resource: PlanResource
    ctx: PlanContext
    values: dict[str, Any]
    unknown_map: dict[str, Any]
    state: str  # "after" | "before"
    action: Action
    source: SourceLocation
    # Where notes for the whole request go (kept on the view so helpers can add them).
    notes: list[str] = msgspec.field(default_factory=list)
    unknowns: list[str] = msgspec.field(default_factory=list)

    @property
    def address(self) -> str:
        return self.resource.address

    @property
    def type(self) -> str:
        return self.resource.type

    def get(self, *path: Any) -> Any:
        return dig(self.values, *path)

    def unknown(self, *path: Any) -> bool:
        """True only where after_unknown marks the value (or one of its parents) as unknown."""
        node: Any = self.unknown_map
        for key in path:
            if node is True:
                return True
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            else:
                return False
        return node is True

    def items(self, *path: Any) -> list[Any]:
        """A list attribute or a list of blocks; [] when null or unset. Another type (hand-written
        HCL such as `instance_types = 5`) is an input error at the resource, as `terraform
        validate` would say, never read as "not set" and replaced by a default."""
        value = self.get(*path)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        attribute = ".".join(str(key) for key in path)
        kind = "a map" if isinstance(value, dict) else "a string" if isinstance(value, str) else "a bool" if isinstance(value, bool) else "a number"
        raise InputError(self.source.file, f"{self.address}: {attribute} must be a list, not {kind}", line=self.source.line)

    def string(self, *path: Any) -> str | None:
        value = self.get(*path)
        return value.strip() if isinstance(value, str) and value.strip() else None

    def integer(self, *path: Any) -> int | None:
        value = self.get(*path)
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        return None

    def first_block(self, *path: Any) -> dict[str, Any]:
        value = self.get(*path)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return value[0]
        return value if isinstance(value, dict) else {}

    def label_map(self, *path: Any) -> tuple[dict[str, str], list[str]]:
        """A map of node labels at `path`: its known entries, and the keys whose values are unknown
        at plan time ("*" when the whole map is)."""
        if self.unknown(*path):
            return {}, ["*"]
        value = self.get(*path)
        known: dict[str, str] = {}
        unknown: list[str] = []
        if isinstance(value, dict):
            for key, item in value.items():
                if self.unknown(*path, key):
                    unknown.append(str(key))
                else:
                    known[str(key)] = "" if item is None else str(item)
        return known, unknown

    def taint_blocks(self, *path: Any) -> tuple[list[str], bool]:
        """`taint { key value effect }` blocks (EKS node groups, GKE node_config) as Kubernetes
        taints "key=value:Effect"; False when they are unknown at plan time."""
        if self.unknown(*path):
            return [], False
        taints: list[str] = []
        value = self.get(*path)
        for index, block in enumerate(value if isinstance(value, list) else []):
            if not isinstance(block, dict):
                continue
            if self.unknown(*path, index):
                return [], False
            key, effect = block.get("key"), block.get("effect")
            if not isinstance(key, str) or not isinstance(effect, str):
                return [], False
            text = key if block.get("value") in (None, "") else f"{key}={block.get('value')}"
            taints.append(f"{text}:{TAINT_EFFECTS.get(effect, effect)}")
        return taints, True

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def mark_unknown(self, attribute: str) -> None:
        if attribute not in self.unknowns:
            self.unknowns.append(attribute)

    def request(
        self,
        *,
        provider: Provider,
        region: str | None,
        region_source: str | None,
        instance_type: str | None,
        quantity: Quantity,
        purchase_option: PurchaseOption,
        purchase_reason: str | None,
        tags: dict[str, str],
        tags_known: bool = True,
        labels: dict[str, str] | None = None,
        default_workload: tuple[WorkloadClass, str] | None = None,
        **extra: Any,
    ) -> ComputeRequest:
        workload_class, workload_reason = infer_workload_class(tags, labels)
        if workload_class is WorkloadClass.UNKNOWN and default_workload is not None:
            workload_class, workload_reason = default_workload
        return ComputeRequest(
            address=self.address,
            kind=self.type,
            source=self.source,
            provider=provider,
            region=region,
            region_source=region_source,
            instance_type=instance_type,
            quantity=quantity,
            purchase_option=purchase_option,
            purchase_reason=purchase_reason,
            action=self.action,
            workload_class=workload_class,
            workload_class_reason=workload_reason,
            tags=tags,
            tags_known=tags_known,
            unknowns=list(self.unknowns),
            notes=list(self.notes),
            **extra,
        )


def as_list(value: Any) -> list[Any]:
    """A list attribute or block list; null, or a value of another type (hand-written HCL, an edited
    plan: Terraform would reject it), reads as empty instead of failing mid-extraction."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    """A map attribute or one block; null or another type reads as empty (see `as_list`)."""
    return value if isinstance(value, dict) else {}


def dig(node: Any, *path: Any) -> Any:
    for key in path:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int):
            node = node[key] if 0 <= key < len(node) else None
        else:
            return None
    return node


WORKLOAD_CLASS_KEYS = ("tollgate.dev/workload-class", "workload-class", "workload_class", "workloadclass")
_BATCH_WORDS = {"batch", "training", "train"}
_ONLINE_WORDS = {"online", "serving", "inference", "service"}


def infer_workload_class(
    tags: dict[str, str], labels: dict[str, str] | None = None
) -> tuple[WorkloadClass, str | None]:
    for source_name, mapping in (("label", labels or {}), ("tag", tags)):
        lowered = {str(k).lower(): v for k, v in mapping.items()}
        for key in WORKLOAD_CLASS_KEYS:
            value = lowered.get(key)
            if not isinstance(value, str):
                continue
            word = value.strip().lower()
            if word in _BATCH_WORDS:
                return WorkloadClass.BATCH, f"{source_name} {key}={value}"
            if word in _ONLINE_WORDS:
                return WorkloadClass.ONLINE, f"{source_name} {key}={value}"
    return WorkloadClass.UNKNOWN, None


def string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


# Terraform's taint effects (EKS, GKE) -> Kubernetes's.
TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def node_group_nodes(
    labels: dict[str, str],
    unknown_labels: list[str],
    implicit: dict[str, str | None],
    taints: list[str],
    taints_known: bool,
) -> NodeGroupNodes:
    """The labels and taints of a node group's nodes: its own labels, then those the cloud sets
    (`implicit`; None: the cloud sets the label but its value is unknown at plan time)."""
    known = dict(labels)
    unknown = list(unknown_labels)
    for key, value in implicit.items():
        if value is None:
            known.pop(key, None)
            unknown.append(key)
        else:
            known[key] = value
    return NodeGroupNodes(
        labels=tuple(sorted(known.items())),
        unknown_labels=tuple(sorted(set(unknown))),
        taints=tuple(dict.fromkeys(taints)),
        taints_known=taints_known,
    )


def in_module(view: ResourceView, sources: tuple[str, ...]) -> bool:
    """Whether a module call on the way to the resource has a source containing one of `sources`."""
    address = view.resource.module_address
    if not address:
        return False
    module: Any = view.ctx.configuration.get("root_module")
    parts = split_address(address)
    for i in range(0, len(parts) - 1, 2):
        calls = module.get("module_calls") if isinstance(module, dict) else None
        call = calls.get(strip_index(parts[i + 1])) if isinstance(calls, dict) else None
        if not isinstance(call, dict):
            return False
        source = str(call.get("source") or "").lower()
        if any(s.lower() in source for s in sources):
            return True
        module = call.get("module")
    return False
