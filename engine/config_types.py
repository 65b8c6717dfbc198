"""The validated tollgate.yaml as the engine reads it: frozen msgspec Structs, without pydantic.

`engine.config` (pydantic) is the schema: it words every error, and `tollgate schema` renders it.
These classes are what a validated file becomes, so that checking a change does not import
pydantic and build its models (about a sixth of a pre-commit run). Field for field, with the same
names and defaults, they mirror `engine.config`; tests/unit/test_config_fastpath.py holds the two
together, and `engine.config_fastpath` builds them straight from a file that needs no pydantic.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
import re
from typing import Any, Literal, Union

import msgspec

ProviderName = Literal["aws", "gcp", "azure"]
Severity = Literal["error", "warning", "info"]
WorkloadClassName = Literal["batch", "online", "unknown"]
PricingMode = Literal["bundled", "live", "cached"]


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    providers: list[ProviderName] = msgspec.field(default_factory=list)
    regions: list[str] = msgspec.field(default_factory=list)
    kinds: list[str] = msgspec.field(default_factory=list)
    namespaces: list[str] = msgspec.field(default_factory=list)
    workload_class: list[WorkloadClassName] = msgspec.field(default_factory=list)
    addresses: list[str] = msgspec.field(default_factory=list)


class PolicyBase(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    severity: Severity = "error"
    scope: Scope = msgspec.field(default_factory=Scope)
    message: str | None = None
    description: str | None = None


class ActualSpend(msgspec.Struct, frozen=True, kw_only=True):
    provider: Literal["aws", "azure"]
    filter: dict[str, Any] = msgspec.field(default_factory=dict)


class BudgetPolicy(PolicyBase, frozen=True, kw_only=True):
    type: Literal["budget"] = "budget"
    monthly_limit_usd: Decimal | None = None
    monthly_increase_limit_usd: Decimal | None = None
    resource_monthly_limit_usd: Decimal | None = None
    warn_at_percent: list[int] = msgspec.field(default_factory=list)
    actual_spend: ActualSpend | None = None


class InstanceTypePolicy(PolicyBase, frozen=True, kw_only=True):
    type: Literal["instance_type"] = "instance_type"
    allow: list[str] = msgspec.field(default_factory=list)
    deny: list[str] = msgspec.field(default_factory=list)
    gpu_models_allow: list[str] = msgspec.field(default_factory=list)
    gpu_models_deny: list[str] = msgspec.field(default_factory=list)
    max_gpus_per_resource: int | None = None
    max_gpus_per_change: int | None = None
    deny_previous_generation: bool = False


class RegionPolicy(PolicyBase, frozen=True, kw_only=True):
    type: Literal["region"] = "region"
    allow: dict[ProviderName, list[str]] = msgspec.field(default_factory=dict)
    deny: dict[ProviderName, list[str]] = msgspec.field(default_factory=dict)


class SpotPolicy(PolicyBase, frozen=True, kw_only=True):
    type: Literal["spot"] = "spot"
    require_for: list[WorkloadClassName] = msgspec.field(default_factory=list)
    forbid_for: list[WorkloadClassName] = msgspec.field(default_factory=list)
    warn_for: list[WorkloadClassName] = msgspec.field(default_factory=list)


class TagsPolicy(PolicyBase, frozen=True, kw_only=True):
    type: Literal["tags"] = "tags"
    required: list[str] = msgspec.field(default_factory=list)
    allowed_values: dict[str, list[str]] = msgspec.field(default_factory=dict)
    patterns: dict[str, str] = msgspec.field(default_factory=dict)
    case_insensitive_keys: bool = False


class ApprovalPolicy(PolicyBase, frozen=True, kw_only=True):
    type: Literal["approval"] = "approval"
    severity: Severity = "info"  # an approval request blocks only when configured to
    monthly_increase_over_usd: Decimal
    approvers: list[str]


Policy = Union[BudgetPolicy, InstanceTypePolicy, RegionPolicy, SpotPolicy, TagsPolicy, ApprovalPolicy]
POLICY_CLASSES: dict[str, type[PolicyBase]] = {
    "budget": BudgetPolicy,
    "instance_type": InstanceTypePolicy,
    "region": RegionPolicy,
    "spot": SpotPolicy,
    "tags": TagsPolicy,
    "approval": ApprovalPolicy,
}


class Endpoints(msgspec.Struct, frozen=True, kw_only=True):
    aws_pricing: str | None = None
    aws_ec2: str | None = None
    aws_ce: str | None = None
    gcp_billing: str | None = None
    azure_retail: str | None = None
    azure_management: str | None = None

    def urls(self) -> dict[str, str]:
        """The endpoints that are set, by key."""
        return {name: value for name in self.__struct_fields__ if (value := getattr(self, name))}


class PriceCacheTtl(msgspec.Struct, frozen=True, kw_only=True):
    on_demand_hours: float = 168
    reserved_hours: float = 168
    spot_hours: float = 1


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    hours_per_month: int = 730
    pricing: PricingMode = "bundled"
    default_region: dict[ProviderName, str] = msgspec.field(default_factory=dict)
    unpriced_severity: Severity = "warning"
    endpoints: Endpoints = msgspec.field(default_factory=Endpoints)
    price_cache_ttl: PriceCacheTtl = msgspec.field(default_factory=PriceCacheTtl)


class NodePool(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    instance_types: list[str]
    capacity: Literal["on_demand", "spot"] = "on_demand"
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    taints: list[str] = msgspec.field(default_factory=list)


class Cluster(msgspec.Struct, frozen=True, kw_only=True):
    provider: ProviderName
    region: str
    node_pools: list[NodePool] = msgspec.field(default_factory=list)
    default_job_hours: float = 1.0


class ExceptionEntry(msgspec.Struct, frozen=True, kw_only=True):
    policy: str
    resource: str
    reason: str | None = None
    owner: str | None = None
    expires: dt.date | None = None


class PolicyFile(msgspec.Struct, frozen=True, kw_only=True):
    version: Literal[1]
    extends: list[str] = msgspec.field(default_factory=list)
    settings: Settings = msgspec.field(default_factory=Settings)
    cluster: Cluster | None = None
    policies: list[Policy] = msgspec.field(default_factory=list)
    exceptions: list[ExceptionEntry] = msgspec.field(default_factory=list)


# --- the checks a schema cannot say; pydantic's validators and the fast path both call these ------

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def check_budget_has_a_limit(policy: Any) -> None:
    if policy.monthly_limit_usd is None and policy.monthly_increase_limit_usd is None and policy.resource_monthly_limit_usd is None:
        raise ValueError("a budget needs monthly_limit_usd, monthly_increase_limit_usd or resource_monthly_limit_usd")


def check_patterns_compile(patterns: dict[str, str]) -> None:
    from tollgate.engine.bounded_regex import compile_error  # the engine the rule matches with

    for key, pattern in patterns.items():
        problem = compile_error(pattern)
        if problem is not None:
            raise ValueError(f"pattern for {key!r} is not a valid regular expression: {problem}")


def check_endpoint_url(value: str | None) -> None:
    if value is None:
        return
    match = re.match(r"^(https?)://([^/:?#]+|\[[^\]]+\])(:\d+)?(/[^?#]*)?$", value)
    if match is None:
        raise ValueError(f"{value!r} is not a base URL (https://host[:port][/path])")
    if match.group(1) == "http" and match.group(2).lower() not in _LOOPBACK_HOSTS:
        raise ValueError(f"{value!r}: plain http is allowed for loopback only (127.0.0.1, localhost); use https")


def check_extends_builtin_only(extends: list[str]) -> None:
    for entry in extends:
        if not entry.startswith("builtin:"):
            raise ValueError(f"extends entry {entry!r} must name a built-in pack, e.g. builtin:gpu-guardrails")


def check_unique_policy_ids(policies: list[Any]) -> None:
    seen: set[str] = set()
    for policy in policies:
        if policy.id in seen:
            raise ValueError(f"policy id {policy.id!r} is used twice in this file")
        seen.add(policy.id)


# Every class above by name: the schema's `$defs` and pydantic's models use the same names.
CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        Scope, ActualSpend, BudgetPolicy, InstanceTypePolicy, RegionPolicy, SpotPolicy, TagsPolicy, ApprovalPolicy,
        Endpoints, PriceCacheTtl, Settings, NodePool, Cluster, ExceptionEntry, PolicyFile,
    )
}
