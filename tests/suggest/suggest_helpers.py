"""Compact builders for the suggestion tests: ComputeRequests priced with the bundled catalog."""

from __future__ import annotations

from typing import Any

from tollgate.engine.config_loader import validate_policy_file
from tollgate.engine.config_loader import ActiveConfig
from tollgate.engine.model import (
    Accelerator,
    Action,
    ComputeRequest,
    Provider,
    PurchaseOption,
    Quantity,
    SourceLocation,
    WorkloadClass,
)
from tollgate.engine.pricing import PricedRequest, price_requests
from tollgate.engine.report import Suggestion
from tollgate.engine.suggest import suggest
from tollgate.engine.suggest.usage import Usage
from tollgate.providers.bundled import BundledCatalog

HOURS = 730
CATALOG = BundledCatalog()


def request(
    address: str,
    provider: str,
    region: str,
    instance_type: str,
    quantity: int | Quantity = 1,
    option: str = "on_demand",
    workload: str = "unknown",
    tags: dict[str, str] | None = None,
    accelerators: tuple[tuple[str, int], ...] = (),
    action: str = "create",
) -> ComputeRequest:
    return ComputeRequest(
        address=address,
        kind=address.split(".")[0],
        source=SourceLocation("main.tf", 1),
        provider=Provider(provider),
        region=region,
        instance_type=instance_type,
        quantity=quantity if isinstance(quantity, Quantity) else Quantity.fixed(quantity),
        purchase_option=PurchaseOption(option),
        workload_class=WorkloadClass(workload),
        workload_class_reason=f"tag workload-class={workload}" if workload != "unknown" else None,
        tags=dict(tags or {}),
        accelerators=tuple(Accelerator(t, n) for t, n in accelerators),
        action=Action(action),
    )


def config(policies: list[dict[str, Any]]) -> ActiveConfig:
    parsed = validate_policy_file({"version": 1, "policies": policies})
    return ActiveConfig(path="test.yaml", settings=parsed.settings, policies=list(parsed.policies), exceptions=[])


def priced(*requests: ComputeRequest) -> list[PricedRequest]:
    return price_requests(list(requests), CATALOG, {}, HOURS)


def run(
    *requests: ComputeRequest,
    policies: list[dict[str, Any]] | None = None,
    level: str = "default",
    usage: dict[str, Usage] | None = None,
) -> list[Suggestion]:
    active = config(policies) if policies is not None else None
    return suggest(priced(*requests), CATALOG, active, HOURS, level, usage)


def kinds(suggestions: list[Suggestion]) -> dict[str, Suggestion]:
    return {s.kind: s for s in suggestions}
