"""`rightsize`: the cheapest type in the same provider and region that meets what is actually
asked for: a pod's requests, declared needs (tollgate.dev/needs-gpus, -gpu-memory, -vcpu,
-memory tags or labels), or measured utilisation below the thresholds (`--usage`)."""

from __future__ import annotations

import math

from tollgate.engine.prices import InstanceSpec
from tollgate.engine.report import Suggestion
from tollgate.engine.suggest.common import (
    NEEDS_GPU_MEMORY,
    NEEDS_GPUS,
    NEEDS_MEMORY,
    NEEDS_VCPU,
    Context,
    Current,
    Gpus,
    Needs,
    cheapest_fit,
    declared,
    describe_spec,
    from_state,
    gpus_of,
    is_burstable,
    make,
    monthly,
    option_word,
    state,
)
from tollgate.engine.suggest.usage import LOW_THRESHOLDS, TARGET_UTILISATION


def needs_for(ctx: Context, cur: Current) -> tuple[Needs, str] | None:
    """What one unit must have, and where that comes from; None when nothing says."""
    request = cur.request
    spec = cur.spec
    current = gpus_of(spec, request) if spec else Gpus(0.0, None, None)
    arch = spec.arch if spec else None
    burstable = spec is not None and is_burstable(spec)
    pod = request.pod
    if pod is not None:
        if pod.cpu is None or pod.memory_gib is None or pod.gpus is None:
            return None
        model = (pod.gpu_model or current.model) if pod.gpus else None
        needs = Needs(pod.gpus, model, None, pod.cpu, pod.memory_gib, current.kind, arch, burstable=burstable)
        return needs, f"each pod requests {needs.describe()}"
    tags = declared(request)
    if tags:
        gpus = tags.get(NEEDS_GPUS, current.count)
        gpu_memory = tags.get(NEEDS_GPU_MEMORY) if gpus else None
        model = None if gpu_memory is not None or not gpus else current.model
        vendor = current.vendor if model is None else None
        needs = Needs(
            gpus, model, gpu_memory, tags.get(NEEDS_VCPU), tags.get(NEEDS_MEMORY), current.kind, arch, burstable=burstable, gpu_vendor=vendor
        )
        keys = ", ".join(k.split("/", 1)[1] for k in (NEEDS_GPUS, NEEDS_GPU_MEMORY, NEEDS_VCPU, NEEDS_MEMORY) if k in tags)
        return needs, f"its tollgate.dev tags declare {keys}: it needs {needs.describe()}"
    usage = ctx.usage.get(request.address)
    if usage is None or spec is None:
        return None
    low = [m for m, limit in LOW_THRESHOLDS.items() if (v := usage.get(m)) is not None and v < limit]
    if not low or (low == ["gpu"] and not current.count):
        return None

    def scaled(capacity: float, percent: float | None, metric: str) -> float:
        if metric not in low or percent is None:
            return capacity
        return capacity * percent / TARGET_UTILISATION

    vcpu = scaled(spec.vcpu, usage.cpu, "cpu")
    memory = scaled(spec.memory_gib or 0.0, usage.memory, "memory") if spec.memory_gib else None
    gpus = current.count
    if current.count and "gpu" in low and usage.gpu is not None:
        busiest = max(usage.gpu, usage.gpu_memory or 0.0)
        gpus = max(1.0, float(math.ceil(current.count * busiest / TARGET_UTILISATION)))
    needs = Needs(gpus, current.model if gpus else None, None, vcpu, memory, current.kind, arch, burstable=burstable)
    seen = ", ".join(f"{m.replace('_', ' ')} {usage.get(m):g}%" for m in ("cpu", "memory", "gpu", "gpu_memory") if usage.get(m) is not None)
    return needs, f"measured utilisation ({seen}) sized for {TARGET_UTILISATION:g}% needs {needs.describe()}"


def suggest_rightsize(ctx: Context, cur: Current) -> Suggestion | None:
    found = needs_for(ctx, cur)
    if found is None:
        return None
    needs, why = found
    request = cur.request

    current = cur.spec
    current_gpus = gpus_of(current, request).count if current is not None else 0.0

    def no_larger(spec: InstanceSpec) -> bool:
        # A pod is priced as its share of the node: a bigger node with a lower price per GPU or
        # vCPU is not a right size (the pods would have to fill it), so pods only move down.
        if request.pod is None or current is None:
            return True
        return spec.vcpu <= current.vcpu and gpus_of(spec, request).count <= current_gpus

    best = cheapest_fit(ctx, cur, needs, lambda spec: spec.instance_type != cur.instance_type and no_larger(spec), "rightsize")
    if best is None:
        return None
    spec, unit = best
    to_hourly = unit * cur.quantity
    was = f" ({describe_spec(cur.spec, request)})" if cur.spec else ""
    rationale = (
        f"{why}; {spec.instance_type} ({describe_spec(spec, request)}) is the cheapest {option_word(cur.option)} type in "
        f"{cur.region} that fits, vs {cur.instance_type}{was}: {monthly(ctx, to_hourly)} instead of {monthly(ctx, cur.hourly)}"
    )
    to = state(ctx, spec.instance_type, cur.quantity, cur.option, cur.region, cur.provider, to_hourly)
    return make(ctx, "rightsize", cur, to, cur.hourly, to_hourly, rationale, from_state(ctx, cur))
