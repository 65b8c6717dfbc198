"""`commitment`: online capacity that runs all month, on demand, at the catalog's 1-year
reserved / committed-use price (the 3-year price is quoted in the rationale). A scaling group
commits only its minimum size, the capacity that always runs."""

from __future__ import annotations

from tollgate.engine.model import WorkloadClass
from tollgate.engine.report import Suggestion
from tollgate.engine.suggest.common import Context, Current, from_state, make, monthly, quote, state


def suggest_commitment(ctx: Context, cur: Current) -> Suggestion | None:
    request = cur.request
    if cur.option != "on_demand" or request.workload_class is not WorkloadClass.ONLINE:
        return None
    if request.hours_per_month_override is not None or ctx.guard.on_demand_required_off(cur.item):
        return None
    instances = cur.item.after.instances
    if cur.part_of and instances is not None and instances.is_scaling:
        return None  # how much of a scaling mixed group's minimum runs on demand is not known here
    committed = cur.quantity
    if instances is not None and instances.is_scaling and request.pod is None:
        committed = min(cur.quantity, instances.min or 0)
    if committed <= 0:
        return None
    one_year = quote(ctx, cur, cur.instance_type, "reserved_1y")
    three_year = quote(ctx, cur, cur.instance_type, "reserved_3y")
    option, unit = ("reserved_1y", one_year) if one_year is not None else ("reserved_3y", three_year)
    if unit is None:
        return None
    from_hourly = cur.unit * committed
    to_hourly = unit * committed
    word = "committed-use discount" if cur.provider == "gcp" else "reservation"
    also = ""
    scope = f"its minimum of {committed} (the capacity that always runs)" if committed != cur.quantity else f"all {committed}"
    if cur.part_of:
        scope += f" ({cur.part_of})"
        if len(request.instance_types) > 1:
            also += f"; it covers {cur.instance_type} instances only"
    if option == "reserved_1y" and three_year is not None and three_year < unit:
        also += f"; a 3-year term would be {monthly(ctx, three_year * committed)}"
    rationale = (
        f"online capacity that runs all month on demand: a {'1' if option == 'reserved_1y' else '3'}-year {word} for "
        f"{scope} × {cur.instance_type} in {cur.region} is {monthly(ctx, to_hourly)} instead of {monthly(ctx, from_hourly)}{also}; "
        "it is paid whether or not the capacity runs"
    )
    to = state(ctx, cur.instance_type, committed, option, cur.region, cur.provider, to_hourly)
    return make(ctx, "commitment", cur, to, from_hourly, to_hourly, rationale, from_state(ctx, cur, from_hourly, committed))
