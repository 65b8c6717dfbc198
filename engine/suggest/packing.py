"""`packing`: the workload needs fewer GPUs than its machine has. The smallest machine of the same
GPU model that holds it: for a Terraform resource, what `tollgate.dev/needs-gpus` declares; for
Kubernetes pods pinned to a larger node, the whole nodes they occupy (a node bills whole, even
when the pods use 1 of its 8 GPUs) against the whole nodes of a smaller type that hold them; for a
Terraform node group, the GPU pods of the same change scheduled on it (`node_groups`): fewer
nodes, or a smaller type with the same GPU."""

from __future__ import annotations

import math

from tollgate.engine.money import Money
from tollgate.engine.prices import InstanceSpec
from tollgate.engine.report import Suggestion
from tollgate.engine.suggest.common import (
    NEEDS_GPUS,
    NEEDS_MEMORY,
    NEEDS_VCPU,
    Context,
    Current,
    Needs,
    allowed,
    cheapest,
    cheapest_fit,
    declared,
    describe_spec,
    from_state,
    gpus_of,
    is_burstable,
    make,
    model_matches,
    monthly,
    node_price,
    state,
)
from tollgate.engine.suggest.node_groups import NodeGroupContext, pods_per_node, suggest_node_group_packing


def _pods_per_node(spec: InstanceSpec, cur: Current) -> int:
    pod = cur.request.pod
    assert pod is not None and pod.gpus
    return pods_per_node(gpus_of(spec, cur.request).count, spec.vcpu, spec.memory_gib, pod)


def _pods(ctx: Context, cur: Current) -> Suggestion | None:
    pod = cur.request.pod
    spec = cur.spec
    if pod is None or not pod.gpus or spec is None:
        return None
    current = gpus_of(spec, cur.request)
    per_node = _pods_per_node(spec, cur)
    if not current.count or per_node < 1 or current.count <= pod.gpus:
        return None
    nodes = math.ceil(cur.quantity / per_node)
    idle = nodes * current.count - cur.quantity * pod.gpus
    if idle < 1:
        return None  # the nodes are full: nothing to pack
    node = node_price(ctx, cur, cur.instance_type, cur.option)
    if node is None:
        return None
    from_hourly = node * nodes
    model = pod.gpu_model or current.model
    if model is None:
        return None

    def accept(candidate: InstanceSpec) -> bool:
        gpus = gpus_of(candidate, cur.request)
        return (
            candidate.instance_type != cur.instance_type
            and gpus.count < current.count
            and model_matches(gpus.model, model)
            and candidate.arch == spec.arch
            and _pods_per_node(candidate, cur) >= 1
            and allowed(ctx, cur, candidate)
        )

    def price(candidate: InstanceSpec) -> Money | None:
        unit = node_price(ctx, cur, candidate.instance_type, cur.option)
        return None if unit is None else unit * math.ceil(cur.quantity / _pods_per_node(candidate, cur))

    best = cheapest(ctx, cur, accept, price)
    if best is None:
        return None
    target, to_hourly = best
    to_nodes = math.ceil(cur.quantity / _pods_per_node(target, cur))
    target_gpus = gpus_of(target, cur.request)
    rationale = (
        f"{cur.quantity} pod(s) × {pod.gpus:g} {model} GPU need {cur.quantity * pod.gpus:g} GPUs, but on {cur.instance_type} "
        f"({current.count:g} GPUs each) they occupy {nodes} whole node(s) with {idle:g} GPUs idle; "
        f"{to_nodes} × {target.instance_type} ({target_gpus.count:g} {target_gpus.model} each) holds them: "
        f"{monthly(ctx, to_hourly)} instead of {monthly(ctx, from_hourly)} for the nodes"
    )
    from_ = from_state(ctx, cur, from_hourly, quantity=nodes)
    to = state(ctx, target.instance_type, to_nodes, cur.option, cur.region, cur.provider, to_hourly)
    return make(ctx, "packing", cur, to, from_hourly, to_hourly, rationale, from_)


def _declared(ctx: Context, cur: Current) -> Suggestion | None:
    spec = cur.spec
    tags = declared(cur.request)
    if spec is None or NEEDS_GPUS not in tags:
        return None
    current = gpus_of(spec, cur.request)
    wanted = tags[NEEDS_GPUS]
    if not current.count or not wanted or wanted >= current.count or current.model is None:
        return None
    needs = Needs(wanted, current.model, None, tags.get(NEEDS_VCPU), tags.get(NEEDS_MEMORY), current.kind, spec.arch, burstable=is_burstable(spec))

    best = cheapest_fit(ctx, cur, needs, lambda candidate: candidate.instance_type != cur.instance_type, "packing")
    if best is None:
        return None
    target, unit = best
    to_hourly = unit * cur.quantity
    rationale = (
        f"tollgate.dev/needs-gpus declares {wanted:g} GPU(s) but {cur.instance_type} has {current.count:g} {current.model}; "
        f"{target.instance_type} ({describe_spec(target, cur.request)}) is the cheapest type with the same GPU that holds "
        f"{needs.describe()}: {monthly(ctx, to_hourly)} instead of {monthly(ctx, cur.hourly)}"
    )
    to = state(ctx, target.instance_type, cur.quantity, cur.option, cur.region, cur.provider, to_hourly)
    return make(ctx, "packing", cur, to, cur.hourly, to_hourly, rationale)


def suggest_packing(ctx: Context, cur: Current) -> Suggestion | None:
    if cur.request.pod is not None:
        # Pods scheduled on a node group of the change: the group's packing counts them (its nodes bill).
        linked = isinstance(ctx, NodeGroupContext) and ctx.links.is_linked(cur.request)
        return None if linked else _pods(ctx, cur)
    found = [s for s in (suggest_node_group_packing(ctx, cur), _declared(ctx, cur)) if s is not None]
    return max(found, key=lambda s: s.monthly_savings.nanos) if found else None
