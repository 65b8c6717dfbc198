"""The one Report every renderer draws from."""

from __future__ import annotations

from typing import Any

import msgspec

from tollgate.engine.model import Action
from tollgate.engine.money import Money
from tollgate.engine.prices import SourceInfo
from tollgate.engine.pricing import PricedRequest

REPORT_SCHEMA_VERSION = 1
INFORMATION_ONLY_KINDS = ("cloud",)  # suggestions that are not counted in possible savings


class Finding(msgspec.Struct):
    policy_id: str
    severity: str  # error | warning | info
    address: str
    file: str | None
    line: int | None
    message: str
    waived: bool = False
    waiver: dict[str, Any] | None = None


class Suggestion(msgspec.Struct):
    kind: str  # packing | rightsize | generation | spot | region | commitment | cloud (information only)
    address: str
    from_: dict[str, Any]
    to: dict[str, Any]
    monthly_savings: Money
    rationale: str


class BudgetSpend(msgspec.Struct):
    """A budget with `actual_spend`: what was spent this month and where this change takes it."""

    policy_id: str
    provider: str
    filter: dict[str, str]
    cap: Money | None  # monthly_limit_usd
    month_to_date: Money | None  # None when the spend API could not answer (see `problem`)
    change_rest_of_month: Money  # the change's net cost for the days left in the month
    days_left: int
    days_in_month: int
    source: str | None = None  # "live:aws-ce"
    as_of: str | None = None
    period: tuple[str, str] | None = None
    problem: str | None = None

    @property
    def projected(self) -> Money | None:
        return None if self.month_to_date is None else self.month_to_date + self.change_rest_of_month


class Totals(msgspec.Struct, frozen=True):
    monthly: Money
    before_monthly: Money
    delta_monthly: Money
    unpriced: int  # requests left out of the sums because they could not be priced
    on_node_groups: int = 0  # pod requests left out because their node group of the change is counted (runs_on)


class Report(msgspec.Struct):
    pricing_mode: str
    sources: list[SourceInfo]  # the upstreams that priced something in this report
    catalog_as_of: str | None
    resources: list[PricedRequest]
    inputs: list[str]
    hours_per_month: int
    skipped: list[tuple[str, str]] = msgspec.field(default_factory=list)
    config_path: str | None = None  # the policy file in force, or "builtin:<pack>"
    findings: list[Finding] = msgspec.field(default_factory=list)
    suggestions: list[Suggestion] = msgspec.field(default_factory=list)
    pricing_problems: list[str] = msgspec.field(default_factory=list)  # live APIs that failed, one line each
    budgets: list[BudgetSpend] = msgspec.field(default_factory=list)

    def blocking(self, fail_on: str) -> list[Finding]:
        """Unwaived findings at or above the --fail-on severity."""
        levels = {"error": {"error"}, "warning": {"error", "warning"}, "never": set()}[fail_on]
        return [f for f in self.findings if f.severity in levels and not f.waived]

    def monthly(self, hourly: Money | None) -> Money | None:
        return None if hourly is None else hourly * self.hours_per_month

    def totals(self) -> Totals:
        after = before = Money.zero()
        unpriced = on_node_groups = 0
        for item in self.resources:
            if item.runs_on is not None:
                # Pods on a node group of this change: the group's nodes are their cost, counted once there.
                on_node_groups += 1
                continue
            before_hourly = item.before.hourly if item.before else Money.zero()
            if item.after.hourly is None or before_hourly is None:
                unpriced += 1
                continue
            after += item.after.hourly
            before += before_hourly
        hours = self.hours_per_month
        return Totals(after * hours, before * hours, (after - before) * hours, unpriced, on_node_groups)

    def possible_savings(self) -> Money:
        """Monthly savings if the best suggestion of every resource were taken: per resource the
        largest, never the sum of its kinds (they are alternatives), and at most the resource's own
        priced monthly cost; `cloud` is information only."""
        best: dict[str, Money] = {}
        for suggestion in self.suggestions:
            if suggestion.kind in INFORMATION_ONLY_KINDS:
                continue
            previous = best.get(suggestion.address)
            if previous is None or suggestion.monthly_savings > previous:
                best[suggestion.address] = suggestion.monthly_savings
        # Never more than what the resource is priced at here (a pinned pod's packing compares
        # whole nodes, which its share-of-node price does not include).
        priced: dict[str, Money] = {}
        for item in self.resources:
            if item.after.hourly is not None:
                priced[item.request.address] = priced.get(item.request.address, Money.zero()) + item.after.hourly * self.hours_per_month
        total = Money.zero()
        for address, amount in best.items():
            cap = priced.get(address)
            total += amount if cap is None or amount <= cap else cap
        return total

    def gpu_total(self, kind: str = "gpu") -> float:
        """GPUs (or, with kind="accelerator", Inferentia/Trainium-style chips) after the change.

        The GPUs that pods on a node group of this change (`runs_on`) ask for are GPUs of that
        group's nodes, already counted with the group: they are not added a second time. (Pods
        not linked to a group of the change count their own GPUs: their nodes are not in it.)"""
        return sum(
            item.after.gpus.total or 0
            for item in self.resources
            if item.after.gpus
            and item.after.gpus.kind == kind
            and item.request.action is not Action.DELETE
            and item.runs_on is None
        )
