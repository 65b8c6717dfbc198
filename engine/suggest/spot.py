"""`spot`: batch and training work (which can checkpoint and resume) on on-demand capacity, moved
to spot at the catalog's spot price. Never for online serving or unknown workloads, and never
where a spot policy's `forbid_for` covers the workload class."""

from __future__ import annotations

from tollgate.engine.model import WorkloadClass
from tollgate.engine.report import Suggestion
from tollgate.engine.suggest.common import Context, Current, make, monthly, quote, state


def suggest_spot(ctx: Context, cur: Current) -> Suggestion | None:
    request = cur.request
    if cur.option != "on_demand" or request.workload_class is not WorkloadClass.BATCH:
        return None
    if not ctx.guard.spot_allowed(cur.item):
        return None
    unit = quote(ctx, cur, cur.instance_type, "spot")
    if unit is None:
        return None
    to_hourly = unit * cur.quantity
    why = f" ({request.workload_class_reason})" if request.workload_class_reason else ""
    part = f" ({cur.part_of})" if cur.part_of else ""
    rationale = (
        f"batch workload{why} on on-demand capacity{part}; {cur.instance_type} spot in {cur.region} is "
        f"{monthly(ctx, to_hourly)} instead of {monthly(ctx, cur.hourly)} (catalog spot price); spot capacity can be "
        "reclaimed at short notice, so checkpoint the job to resume after an interruption"
    )
    to = state(ctx, cur.instance_type, cur.quantity, "spot", cur.region, cur.provider, to_hourly)
    return make(ctx, "spot", cur, to, cur.hourly, to_hourly, rationale)
