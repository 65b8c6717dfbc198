"""Budget policies."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterator

from tollgate.engine.config import BudgetPolicy
from tollgate.engine.money import Money
from tollgate.engine.pricing import PricedRequest
from tollgate.engine.report import Finding
from tollgate.engine.rules.registry import RuleContext, describe, finding, is_live, monthly_at_most, register, usd


def _limit(value: Decimal) -> Money:
    return Money.from_str(str(value))


@register("budget", BudgetPolicy)
def evaluate_budget(policy: BudgetPolicy, ctx: RuleContext) -> Iterator[Finding]:
    """Monthly caps on compute: the total in scope after the change, the increase one change adds,
    and any single request.

    `monthly_limit_usd` caps everything in scope after the change; `monthly_increase_limit_usd` caps
    the change's net monthly delta; `resource_monthly_limit_usd` caps each request. `warn_at_percent`
    adds a warning when the total crosses that share of the cap. A request whose quantity is unknown
    is counted at its maximum where one is known, and the finding says so; unpriced requests are not
    counted and are named in the message.
    """
    items = ctx.in_scope(policy.scope)
    hours = ctx.hours_per_month
    after_total = Money.zero()
    before_total = Money.zero()
    at_maximum: list[str] = []
    unpriced: list[str] = []
    largest: tuple[Money, PricedRequest] | None = None
    for item in items:
        monthly, assumed_max = monthly_at_most(item, hours) if is_live(item) else (Money.zero(), False)
        before = ctx.monthly(item.before.hourly) if item.before else Money.zero()
        if monthly is None or before is None:
            unpriced.append(item.request.address)
            continue
        if assumed_max:
            at_maximum.append(item.request.address)
        after_total += monthly
        before_total += before
        if largest is None or monthly > largest[0]:
            largest = (monthly, item)

        if policy.resource_monthly_limit_usd is not None and is_live(item):
            cap = _limit(policy.resource_monthly_limit_usd)
            if monthly > cap:
                qualifier = " (quantity unknown: counted at its maximum)" if assumed_max else ""
                yield finding(
                    policy,
                    item,
                    f"{describe(item)} = {usd(monthly)}/month{qualifier}, over the '{policy.id}' per-resource limit "
                    f"of {usd(cap)} (+{usd(monthly - cap)})",
                )

    anchor = largest[1] if largest else None
    notes = _notes(at_maximum, unpriced)
    if policy.monthly_limit_usd is not None:
        cap = _limit(policy.monthly_limit_usd)
        if after_total > cap:
            yield finding(
                policy,
                anchor,
                f"compute in scope of '{policy.id}' after this change ({len(items)} request{'s' if len(items) != 1 else ''}) = {usd(after_total)}/month, "
                f"over the budget of {usd(cap)} (+{usd(after_total - cap)})"
                + (f"; largest {describe(anchor)} = {usd(largest[0])}/month" if largest and anchor else "")
                + notes,
            )
        elif policy.warn_at_percent and cap.nanos > 0:
            share = after_total.nanos * 100 / cap.nanos
            crossed = [p for p in sorted(policy.warn_at_percent) if share >= p]
            if crossed:
                yield finding(
                    policy,
                    anchor,
                    f"compute in scope of '{policy.id}' after this change = {usd(after_total)}/month, "
                    f"{share:.0f}% of the budget of {usd(cap)} (warning threshold {crossed[-1]}%)" + notes,
                    severity="warning",
                )
    if policy.monthly_increase_limit_usd is not None:
        cap = _limit(policy.monthly_increase_limit_usd)
        increase = after_total - before_total
        if increase > cap:
            yield finding(
                policy,
                anchor,
                f"this change adds {usd(increase)}/month to compute in scope of '{policy.id}', over the per-change "
                f"limit of {usd(cap)} (+{usd(increase - cap)})" + notes,
            )


def _notes(at_maximum: list[str], unpriced: list[str]) -> str:
    text = ""
    if at_maximum:
        text += f"; {len(at_maximum)} request(s) with an unknown size counted at their maximum ({', '.join(at_maximum[:3])})"
    if unpriced:
        text += f"; {len(unpriced)} unpriced request(s) not counted ({', '.join(unpriced[:3])})"
    return text
