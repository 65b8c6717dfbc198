"""Budget policies."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, Iterator, Mapping

from tollgate.engine.config_types import BudgetPolicy
from tollgate.engine.money import Money
from tollgate.engine.prices import PriceMiss, PriceSource, SpendQuote
from tollgate.engine.pricing import PricedRequest
from tollgate.engine.report import BudgetSpend, Finding
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
    counted and are named in the message. Pods on a node group of the change (`runs_on`) add
    nothing: their cost is the group's, counted when the group is in scope.
    """
    items = ctx.in_scope(policy.scope)
    hours = ctx.hours_per_month
    after_total = Money.zero()
    before_total = Money.zero()
    at_maximum: list[str] = []
    unpriced: list[str] = []
    largest: tuple[Money, PricedRequest] | None = None
    for item in items:
        if item.runs_on is not None:
            continue  # the node group's nodes are this pod's cost, counted once, with the group
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
    if policy.actual_spend is not None:
        status = spend_status(policy, items, hours, ctx.today, ctx.spend.get(policy.id))
        yield from _actual_spend_findings(policy, status, anchor)
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


# --- actual spend (live billing APIs) ---------------------------------------------------------------


def spend_filter(policy: BudgetPolicy) -> dict[str, str]:
    """`actual_spend.filter` as tag -> value. Both spellings are accepted: `{tags: {team: ml}}`
    (DESIGN.md) and the flat `{team: ml}`; Azure may add `scope: subscriptions/<id>/...`."""
    assert policy.actual_spend is not None
    raw: Mapping[str, Any] = policy.actual_spend.filter
    tags = raw.get("tags")
    flat = {k: v for k, v in raw.items() if k != "tags"}
    merged = {**flat, **(tags if isinstance(tags, dict) else {})}
    return {str(k): str(v) for k, v in merged.items()}


def fetch_actual_spend(policies: Iterable[Any], prices: PriceSource, today: dt.date) -> dict[str, SpendQuote | PriceMiss]:
    """Ask the price source for month-to-date spend once per budget with `actual_spend`."""
    ask = getattr(prices, "month_to_date_spend", None)
    spend: dict[str, SpendQuote | PriceMiss] = {}
    for policy in policies:
        if not isinstance(policy, BudgetPolicy) or policy.actual_spend is None:
            continue
        if not callable(ask):
            spend[policy.id] = PriceMiss("no_live_source", "actual spend needs --pricing live (this run used the bundled catalog)")
            continue
        spend[policy.id] = ask(policy.actual_spend.provider, spend_filter(policy), today.isoformat())
    return spend


def spend_status(
    policy: BudgetPolicy, items: list[PricedRequest], hours: int, today: dt.date, spend: SpendQuote | PriceMiss | None
) -> BudgetSpend:
    """Month-to-date spend, plus what the change adds for the rest of this month (today included)."""
    assert policy.actual_spend is not None
    delta = Money.zero()
    for item in items:
        after, _ = monthly_at_most(item, hours) if is_live(item) else (Money.zero(), False)
        before = item.before.hourly * hours if item.before and item.before.hourly is not None else Money.zero()
        if after is not None:
            delta += after - before
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    days_left = days_in_month - today.day + 1
    status = BudgetSpend(
        policy_id=policy.id,
        provider=policy.actual_spend.provider,
        filter=spend_filter(policy),
        cap=_limit(policy.monthly_limit_usd) if policy.monthly_limit_usd is not None else None,
        month_to_date=None,
        change_rest_of_month=delta * Fraction(days_left, days_in_month),
        days_left=days_left,
        days_in_month=days_in_month,
    )
    if isinstance(spend, SpendQuote):
        status.month_to_date = spend.amount
        status.source, status.as_of, status.period = spend.source, spend.as_of, (spend.period_start, spend.period_end)
    else:
        status.problem = spend.reason if spend is not None else "not fetched"
    return status


def budget_spend_statuses(
    policies: Iterable[Any], resources: list[PricedRequest], hours: int, today: dt.date, spend: Mapping[str, SpendQuote | PriceMiss]
) -> list[BudgetSpend]:
    from tollgate.engine.rules.registry import matches_scope

    statuses = []
    for policy in policies:
        if isinstance(policy, BudgetPolicy) and policy.actual_spend is not None:
            items = [item for item in resources if matches_scope(policy.scope, item)]
            statuses.append(spend_status(policy, items, hours, today, spend.get(policy.id)))
    return statuses


def _actual_spend_findings(policy: BudgetPolicy, status: BudgetSpend, anchor: PricedRequest | None) -> Iterator[Finding]:
    where = ", ".join(f"{k}={v}" for k, v in sorted(status.filter.items())) or "no filter"
    if status.month_to_date is None:
        yield finding(
            policy,
            anchor,
            f"month-to-date {status.provider} spend for '{policy.id}' ({where}) is unavailable: {status.problem}; "
            "the budget was checked against this change only",
            severity="info",
        )
        return
    projected = status.projected
    if status.cap is not None and projected is not None and projected > status.cap:
        yield finding(
            policy,
            anchor,
            f"month-to-date {status.provider} spend ({where}) is {usd(status.month_to_date)}; with this change's "
            f"{usd(status.change_rest_of_month)} for the {status.days_left} day(s) left the month reaches {usd(projected)}, "
            f"over the '{policy.id}' cap of {usd(status.cap)} (+{usd(projected - status.cap)})",
        )
