"""tollgate.yaml: typed, strict (unknown keys rejected), with errors that name the file and line.

The key names are a contract (DESIGN.md "Policies"): add keys, never rename them.

These pydantic models are the schema: they word every error and render `tollgate schema`
(policies/tollgate.schema.json). The engine runs on their pydantic-free twins in
`engine.config_types`; a new key goes into both (tests/unit/test_config_fastpath.py checks it).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from tollgate.engine.config_types import (
    check_budget_has_a_limit,
    check_endpoint_url,
    check_extends_builtin_only,
    check_patterns_compile,
    check_unique_policy_ids,
)

ProviderName = Literal["aws", "gcp", "azure"]
Severity = Literal["error", "warning", "info"]
WorkloadClassName = Literal["batch", "online", "unknown"]
PricingMode = Literal["bundled", "live", "cached"]

POLICY_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"

# Dollar amounts parse exactly (Decimal, never float). The schema is spelled out so the committed
# JSON Schema does not change with pydantic's rendering of Decimal between versions.
Usd = Annotated[Decimal, Field(ge=0), WithJsonSchema({"type": "number", "minimum": 0})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Scope(Strict):
    """Which compute requests a policy applies to. Every listed criterion must match; an empty list
    matches everything. `tags` match tags or labels (a value of "*" matches any value)."""

    tags: dict[str, str] = {}
    providers: list[ProviderName] = []
    regions: list[str] = Field(default=[], description="globs, e.g. us-*")
    kinds: list[str] = Field(default=[], description="resource types or Kubernetes kinds, globs")
    namespaces: list[str] = []
    workload_class: list[WorkloadClassName] = []
    addresses: list[str] = Field(default=[], description="resource address globs")


class PolicyBase(Strict):
    id: str = Field(pattern=POLICY_ID_PATTERN, description="stable id used in findings and waivers")
    severity: Severity = "error"
    scope: Scope = Scope()
    message: str | None = Field(default=None, description="custom text added to every finding of this policy")
    description: str | None = None


class ActualSpend(Strict):
    provider: Literal["aws", "azure"]
    filter: dict[str, Any] = {}


class BudgetPolicy(PolicyBase):
    type: Literal["budget"]
    monthly_limit_usd: Usd | None = Field(default=None, description="cap on everything in scope after the change")
    monthly_increase_limit_usd: Usd | None = Field(default=None, description="cap on what one change may add")
    resource_monthly_limit_usd: Usd | None = Field(default=None, description="cap on any single request")
    warn_at_percent: list[Annotated[int, Field(gt=0, lt=100)]] = []
    actual_spend: ActualSpend | None = None

    @model_validator(mode="after")
    def _needs_a_limit(self) -> BudgetPolicy:
        check_budget_has_a_limit(self)
        return self


class InstanceTypePolicy(PolicyBase):
    type: Literal["instance_type"]
    allow: list[str] = Field(default=[], description="instance type globs, case-insensitive; empty allows all")
    deny: list[str] = []
    gpu_models_allow: list[str] = []
    gpu_models_deny: list[str] = []
    max_gpus_per_resource: int | None = Field(default=None, ge=0)
    max_gpus_per_change: int | None = Field(default=None, ge=0)
    deny_previous_generation: bool = False


class RegionPolicy(PolicyBase):
    type: Literal["region"]
    allow: dict[ProviderName, list[str]] = Field(default={}, description="per provider; a provider not listed is not restricted")
    deny: dict[ProviderName, list[str]] = {}


class SpotPolicy(PolicyBase):
    type: Literal["spot"]
    require_for: list[WorkloadClassName] = Field(default=[], description="workload classes that must run on spot")
    forbid_for: list[WorkloadClassName] = Field(default=[], description="workload classes that must not run on spot")
    warn_for: list[WorkloadClassName] = Field(default=[], description="spot allowed but reported as a warning")


class TagsPolicy(PolicyBase):
    type: Literal["tags"]
    required: list[str] = []
    allowed_values: dict[str, list[str]] = {}
    patterns: dict[str, str] = Field(default={}, description="tag key -> regular expression the value must match")
    case_insensitive_keys: bool = Field(default=False, description="match keys ignoring case (Team == team); reported as such")

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, value: dict[str, str]) -> dict[str, str]:
        check_patterns_compile(value)
        return value


class ApprovalPolicy(PolicyBase):
    type: Literal["approval"]
    severity: Severity = "info"  # an approval request blocks only when configured to
    monthly_increase_over_usd: Usd
    approvers: list[str] = Field(min_length=1)


Policy = Annotated[
    Union[BudgetPolicy, InstanceTypePolicy, RegionPolicy, SpotPolicy, TagsPolicy, ApprovalPolicy],
    Field(discriminator="type"),
]


class Endpoints(Strict):
    """Base URLs replacing the providers' public endpoints (proxies, tests against local fakes).
    An unset AWS key falls back to boto3's AWS_ENDPOINT_URL_<SERVICE> variable."""

    aws_pricing: str | None = None
    aws_ec2: str | None = None
    aws_ce: str | None = None
    gcp_billing: str | None = None
    azure_retail: str | None = None
    azure_management: str | None = None

    @field_validator("*")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        check_endpoint_url(value)
        return value


class PriceCacheTtl(Strict):
    """How long a live price stays fresh in the local cache before `--pricing live` fetches it again."""

    on_demand_hours: float = Field(default=168, gt=0)
    reserved_hours: float = Field(default=168, gt=0)
    spot_hours: float = Field(default=1, gt=0)


class Settings(Strict):
    hours_per_month: int = Field(default=730, gt=0, le=744)
    pricing: PricingMode = "bundled"
    default_region: dict[ProviderName, str] = Field(default={}, description="used only when a request names no region, and reported as such")
    unpriced_severity: Severity = Field(default="warning", description="severity of the built-in 'unpriced' finding")
    endpoints: Endpoints = Endpoints()
    price_cache_ttl: PriceCacheTtl = PriceCacheTtl()


class NodePool(Strict):
    name: str
    instance_types: list[str] = Field(min_length=1)
    capacity: Literal["on_demand", "spot"] = "on_demand"
    labels: dict[str, str] = {}
    taints: list[str] = []


class Cluster(Strict):
    provider: ProviderName
    region: str
    node_pools: list[NodePool] = []
    default_job_hours: float = Field(
        default=1.0, gt=0, description="hours a Job (or one CronJob run) is priced for without a tollgate.dev/expected-hours annotation"
    )


class ExceptionEntry(Strict):
    policy: str = Field(description="policy id (glob)")
    resource: str = Field(description="resource address glob")
    reason: str | None = Field(default=None, description="why; a waiver without a reason is reported")
    owner: str | None = None
    expires: dt.date | None = None


class PolicyFile(Strict):
    version: Literal[1]
    extends: list[str] = Field(default=[], description="built-in packs, e.g. builtin:gpu-guardrails; later ids override earlier")
    settings: Settings = Settings()
    cluster: Cluster | None = None
    policies: list[Policy] = []
    exceptions: list[ExceptionEntry] = []

    @field_validator("extends")
    @classmethod
    def _builtin_only(cls, value: list[str]) -> list[str]:
        check_extends_builtin_only(value)
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> PolicyFile:
        check_unique_policy_ids(self.policies)
        return self


def json_schema() -> dict[str, Any]:
    schema = PolicyFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tollgate.yaml"
    return schema
