"""`generation`: a type the catalog marks previous-generation, or a GPU machine whose GPU
architecture its vendor has superseded, moved to the cheapest current-generation type with at
least its capacity (GPUs, GPU memory per GPU, vCPU, memory) on the same CPU architecture and GPU
vendor."""

from __future__ import annotations

from tollgate.engine.prices import InstanceSpec
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


# GPU architectures their vendors have replaced at least twice over. The catalog's current-generation
# flag comes from instance-family listings (AWS still lists p2/p3/g3 as current; GCP and Azure
# have no flag for most GPU sizes), so the GPU itself is the better signal for GPU machines.
SUPERSEDED_GPUS = {
    "K80": "Kepler, 2014",
    "M60": "Maxwell, 2015",
    "P4": "Pascal, 2016",
    "P40": "Pascal, 2016",
    "P100": "Pascal, 2016",
    "V100": "Volta, 2017",
    "T4": "Turing, 2018",
    "T4G": "Turing, 2018",
    "MI25": "Vega, 2017",
}


def superseded_gpu(model: str | None) -> str | None:
    """The architecture of a superseded GPU model ("V100-16GB" -> "Volta, 2017"), else None."""
    return SUPERSEDED_GPUS.get(model.split("-", 1)[0]) if model else None


def suggest_generation(ctx: Context, cur: Current) -> Suggestion | None:
    spec = cur.spec
    if spec is None or cur.request.pod is not None:
        return None
    current = gpus_of(spec, cur.request)
    old_gpu = superseded_gpu(current.model) if current.count else None
    if spec.current_generation is not False and old_gpu is None:
        return None
    if current.count and current.vendor is None:
        return None  # an unnamed GPU: what would be "at least as capable" is unknown
    needs = Needs(
        current.count, None, current.memory_gib if current.count else None, spec.vcpu, spec.memory_gib, current.kind,
        spec.arch, current_generation=True, burstable=is_burstable(spec), gpu_vendor=current.vendor,
    )

    def current_type(candidate: InstanceSpec) -> bool:
        return candidate.current_generation is not False and superseded_gpu(gpus_of(candidate, cur.request).model) is None

    best = cheapest_fit(ctx, cur, needs, current_type, "generation")
    if best is None:
        return None
    target, unit = best
    to_hourly = unit * cur.quantity
    why = (
        f"has {current.model} GPUs, a superseded architecture ({old_gpu})" if old_gpu else "is previous-generation in the catalog"
    )
    rationale = (
        f"{cur.instance_type} ({describe_spec(spec, cur.request)}) {why}; "
        f"{target.instance_type} ({describe_spec(target, cur.request)}) is the cheapest current type with at least that "
        f"capacity in {cur.region}: {monthly(ctx, to_hourly)} instead of {monthly(ctx, cur.hourly)}"
    )
    to = state(ctx, target.instance_type, cur.quantity, cur.option, cur.region, cur.provider, to_hourly)
    return make(ctx, "generation", cur, to, cur.hourly, to_hourly, rationale)
