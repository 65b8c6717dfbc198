"""`region`: the same configuration in the cheapest region the active region policy allows.
Only when a region policy with an allow list for the provider applies to the request (then the
policy owner has said which regions are acceptable), and only where the same type is priced.
A move must save at least MIN_REGION_SAVINGS_PERCENT of the current cost: moving a workload costs
data transfer and latency that a few percent of its compute price does not pay for."""

from __future__ import annotations

from tollgate.engine.report import Suggestion
from tollgate.engine.suggest.common import Context, Current, make, monthly, option_word, quote, state

MIN_REGION_SAVINGS_PERCENT = 5


def suggest_region(ctx: Context, cur: Current) -> Suggestion | None:
    catalog = ctx.catalog
    if catalog is None or not ctx.guard.has_region_allow_list(cur.item, cur.provider):
        return None
    best: tuple[int, str] | None = None
    best_unit = None
    for region in catalog.regions_for(cur.provider):
        if region == cur.region or not ctx.guard.region_allowed(cur.item, cur.provider, region):
            continue
        unit = quote(ctx, cur, cur.instance_type, cur.option, region=region)
        if unit is None:
            continue
        if best is None or (unit.nanos, region) < best:
            best, best_unit = (unit.nanos, region), unit
    if best is None or best_unit is None:
        return None
    region = best[1]
    to_hourly = best_unit * cur.quantity
    if (cur.hourly - to_hourly).nanos * 100 < cur.hourly.nanos * MIN_REGION_SAVINGS_PERCENT:
        return None
    rationale = (
        f"the same {cur.quantity} × {cur.instance_type} {option_word(cur.option)} costs {monthly(ctx, to_hourly)} in {region}, "
        f"the cheapest region the region policy allows, instead of {monthly(ctx, cur.hourly)} in {cur.region}; "
        "check latency to users and data, and capacity there"
    )
    to = state(ctx, cur.instance_type, cur.quantity, cur.option, region, cur.provider, to_hourly)
    return make(ctx, "region", cur, to, cur.hourly, to_hourly, rationale)
