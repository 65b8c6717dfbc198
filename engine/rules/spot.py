"""Spot-eligibility policies."""

from __future__ import annotations

from typing import Iterator

from tollgate.engine.config_types import SpotPolicy
from tollgate.engine.model import PurchaseOption
from tollgate.engine.money import Money
from tollgate.engine.prices import PriceQuote
from tollgate.engine.pricing import PricedRequest, unit_price
from tollgate.engine.report import Finding
from tollgate.engine.rules.registry import RuleContext, describe, finding, is_live, register, usd


def _on_demand_count(item: PricedRequest) -> int | None:
    request = item.request
    if request.purchase_mix is not None:
        return request.purchase_mix.on_demand
    if request.purchase_option is PurchaseOption.ON_DEMAND:
        instances = item.after.instances
        return instances.desired if instances else None
    return 0


def _spot_saving(item: PricedRequest, ctx: RuleContext, count: int | None) -> str:
    request = item.request
    region = item.after.region
    on_demand = next((p for p in item.after.parts if p.option == "on_demand"), None)
    if region is None or on_demand is None or request.instance_type is None:
        return "spot savings unknown (no on-demand price)"
    spot = unit_price(request, ctx.prices, region, on_demand.instance_type, "spot")
    if not isinstance(spot, PriceQuote):
        return f"no spot price for {on_demand.instance_type} in {region} in the catalog"
    if count is None:
        return f"spot is {usd(spot.unit_hourly)}/hour vs {usd(on_demand.unit.unit_hourly)}/hour on-demand"
    saving: Money = (on_demand.unit.unit_hourly - spot.unit_hourly) * count * ctx.hours_per_month
    share = 100 * saving.nanos / max(1, (on_demand.unit.unit_hourly * count * ctx.hours_per_month).nanos)
    return f"spot would save {usd(saving)}/month ({share:.0f}%, spot price as of {spot.as_of}; checkpoint to survive interruptions)"


@register("spot", SpotPolicy)
def evaluate_spot(policy: SpotPolicy, ctx: RuleContext) -> Iterator[Finding]:
    """Spot for the work that tolerates interruption, not for the work that cannot.

    `require_for` lists workload classes (batch, training runs count as batch) that must run on
    spot: on-demand capacity there is a finding that says what spot would save, from the catalog.
    `forbid_for` lists classes that must not run on spot (online serving); `warn_for` reports spot
    there as a warning. The workload class and the reason it was inferred are in each request.
    """
    for item in ctx.in_scope(policy.scope):
        if not is_live(item):
            continue
        request = item.request
        workload = request.workload_class.value
        on_demand = _on_demand_count(item)
        uses_spot = request.purchase_option is PurchaseOption.SPOT or (
            request.purchase_mix is not None and request.purchase_mix.spot > 0
        )
        why = f" ({request.workload_class_reason})" if request.workload_class_reason else ""
        if workload in policy.require_for and (on_demand is None or on_demand > 0):
            if request.purchase_option is PurchaseOption.UNKNOWN:
                continue
            yield finding(
                policy,
                item,
                f"{describe(item)}: {workload} workload{why} runs on on-demand capacity; '{policy.id}' requires spot; "
                + _spot_saving(item, ctx, on_demand),
            )
        elif workload in policy.forbid_for and uses_spot:
            yield finding(policy, item, f"{describe(item)}: {workload} workload{why} runs on spot, which '{policy.id}' forbids (interruptions)")
        elif workload in policy.warn_for and uses_spot:
            yield finding(
                policy, item, f"{describe(item)}: {workload} workload{why} runs on spot; expect interruptions", severity="warning"
            )
