"""`generation`: a type the catalog marks previous-generation, moved to the cheapest
current-generation type with at least its capacity (GPUs, GPU memory per GPU, vCPU, memory) on
the same CPU architecture."""

from __future__ import annotations

from tollgate.engine.report import Suggestion
from tollgate.engine.suggest.common import (
    Context,
    Current,
    Needs,
    cheapest_fit,
    describe_spec,
    gpus_of,
    is_burstable,
    make,
    monthly,
    state,
)


def suggest_generation(ctx: Context, cur: Current) -> Suggestion | None:
    spec = cur.spec
    if spec is None or spec.current_generation is not False or cur.request.pod is not None:
        return None
    current = gpus_of(spec, cur.request)
    if current.count and current.vendor is None:
        return None  # an unnamed GPU: what would be "at least as capable" is unknown
    needs = Needs(
        current.count, None, current.memory_gib if current.count else None, spec.vcpu, spec.memory_gib, current.kind,
        spec.arch, current_generation=True, burstable=is_burstable(spec), gpu_vendor=current.vendor,
    )

    best = cheapest_fit(ctx, cur, needs, lambda candidate: candidate.current_generation is not False, "generation")
    if best is None:
        return None
    target, unit = best
    to_hourly = unit * cur.quantity
    rationale = (
        f"{cur.instance_type} ({describe_spec(spec, cur.request)}) is previous-generation in the catalog; "
        f"{target.instance_type} ({describe_spec(target, cur.request)}) is the cheapest current type with at least that "
        f"capacity in {cur.region}: {monthly(ctx, to_hourly)} instead of {monthly(ctx, cur.hourly)}"
    )
    to = state(ctx, target.instance_type, cur.quantity, cur.option, cur.region, cur.provider, to_hourly)
    return make(ctx, "generation", cur, to, cur.hourly, to_hourly, rationale)
