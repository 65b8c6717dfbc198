"""Approval policies."""

from __future__ import annotations

from typing import Iterator

from tollgate.engine.config_types import ApprovalPolicy
from tollgate.engine.money import Money
from tollgate.engine.report import Finding
from tollgate.engine.rules.registry import RuleContext, finding, is_live, monthly_at_most, register, usd


@register("approval", ApprovalPolicy)
def evaluate_approval(policy: ApprovalPolicy, ctx: RuleContext) -> Iterator[Finding]:
    """Changes that add more than a monthly amount need named approvers.

    Reported as one approval-required finding naming the approvers; it blocks only when the
    policy's severity is `error` (the default is `info`).
    """
    increase = Money.zero()
    largest = None
    for item in ctx.in_scope(policy.scope):
        monthly, _ = monthly_at_most(item, ctx.hours_per_month) if is_live(item) else (Money.zero(), False)
        before = ctx.monthly(item.before.hourly) if item.before else Money.zero()
        if monthly is None or before is None:
            continue
        delta = monthly - before
        increase += delta
        if largest is None or delta > largest[0]:
            largest = (delta, item)
    threshold = Money.from_str(str(policy.monthly_increase_over_usd))
    if increase > threshold:
        yield finding(
            policy,
            largest[1] if largest else None,
            f"approval required from {', '.join(policy.approvers)}: this change adds {usd(increase)}/month, "
            f"over the '{policy.id}' threshold of {usd(threshold)}",
        )
