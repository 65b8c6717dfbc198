"""The rule registry: every policy type, registered explicitly with a stable id, its schema, its
documentation (the evaluator's docstring) and its pass/fail fixtures (tests/rules/fixtures/<id>/).

Evaluators get a `RuleContext` and yield findings; they never raise for a violation.
"""

from __future__ import annotations

import fnmatch
import datetime as dt
from typing import Any, Callable, Iterable, Mapping

import msgspec

from tollgate.engine.config_types import PolicyBase, Scope
from tollgate.engine.model import Action
from tollgate.engine.money import Money
from tollgate.engine.prices import PriceMiss, PriceSource, SpendQuote
from tollgate.engine.pricing import PricedRequest
from tollgate.engine.report import Finding

Evaluator = Callable[[Any, "RuleContext"], Iterable[Finding]]


class Rule(msgspec.Struct, frozen=True):
    id: str  # the policy `type` in tollgate.yaml; stable forever
    schema: type[PolicyBase]
    evaluate: Evaluator

    @property
    def doc(self) -> str:
        return (self.evaluate.__doc__ or "").strip()

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0] if self.doc else ""


RULES: dict[str, Rule] = {}


def register(rule_id: str, schema: type[PolicyBase]) -> Callable[[Evaluator], Evaluator]:
    def add(function: Evaluator) -> Evaluator:
        if rule_id in RULES:
            raise RuntimeError(f"policy type {rule_id!r} registered twice")
        RULES[rule_id] = Rule(rule_id, schema, function)
        return function

    return add


class RuleContext(msgspec.Struct):
    resources: list[PricedRequest]
    hours_per_month: int
    prices: PriceSource
    today: dt.date = msgspec.field(default_factory=dt.date.today)
    spend: Mapping[str, SpendQuote | PriceMiss] = msgspec.field(default_factory=dict)  # budget id -> month-to-date spend

    def in_scope(self, scope: Scope) -> list[PricedRequest]:
        return [item for item in self.resources if matches_scope(scope, item)]

    def monthly(self, hourly: Money | None) -> Money | None:
        return None if hourly is None else hourly * self.hours_per_month


def matches_scope(scope: Scope, item: PricedRequest) -> bool:
    request = item.request
    if scope.providers and request.provider.value not in scope.providers:
        return False
    region = item.after.region or request.region
    if scope.regions and not (region and any(fnmatch.fnmatch(region.lower(), g.lower()) for g in scope.regions)):
        return False
    if scope.kinds and not any(fnmatch.fnmatch(request.kind.lower(), g.lower()) for g in scope.kinds):
        return False
    if scope.namespaces and request.namespace not in scope.namespaces:
        return False
    if scope.workload_class and request.workload_class.value not in scope.workload_class:
        return False
    if scope.addresses and not any(fnmatch.fnmatchcase(request.address, g) for g in scope.addresses):
        return False
    for key, wanted in scope.tags.items():
        value = request.tags.get(key)
        if value is None or (wanted != "*" and value != wanted):
            return False
    return True


def is_live(item: PricedRequest) -> bool:
    """Requests that exist after the change (a deletion asks for nothing)."""
    return item.request.action is not Action.DELETE


def usd(amount: Money | None) -> str:
    if amount is None:
        return "unknown"
    value = amount.rounded(2)
    return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"


def describe(item: PricedRequest) -> str:
    """'2 × p5.48xlarge on-demand in us-west-2'"""
    request = item.request
    quantity = (item.after.instances or request.quantity).desired
    count = "?" if quantity is None else str(quantity)
    option = request.purchase_option.value.replace("_", "-")
    if request.purchase_mix and request.purchase_mix.on_demand and request.purchase_mix.spot:
        option = f"({request.purchase_mix.on_demand} on-demand + {request.purchase_mix.spot} spot)"
    region = item.after.region or request.region or "an unknown region"
    name = request.address + (f" ({request.component})" if request.component else "")
    return f"{name}: {count} × {request.instance_type or 'unknown type'} {option} in {region}"


def finding(policy: PolicyBase, item: PricedRequest | None, message: str, severity: str | None = None) -> Finding:
    if policy.message:
        message = f"{message}. {policy.message}"
    request = item.request if item else None
    return Finding(
        policy_id=policy.id,
        severity=severity or policy.severity,
        address=request.address if request else "(change)",
        file=request.source.file if request else None,
        line=request.source.line if request else None,
        message=message,
    )


def monthly_at_most(item: PricedRequest, hours: int) -> tuple[Money | None, bool]:
    """The request's monthly cost after the change; when the quantity is unknown but a maximum is
    known, its cost at that maximum (second value True, and the caller says so)."""
    if item.after.hourly is not None:
        return item.after.hourly * hours, False
    instances = item.after.instances
    if item.after.parts and instances is not None and instances.desired is None and instances.max is not None:
        unit = max(part.unit.unit_hourly for part in item.after.parts)
        return unit * instances.max * hours, True
    return None, False
