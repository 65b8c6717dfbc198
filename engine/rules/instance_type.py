"""Instance type and GPU policies."""

from __future__ import annotations

import fnmatch
from typing import Iterator

from tollgate.engine.config_types import InstanceTypePolicy
from tollgate.engine.pricing import PricedRequest
from tollgate.engine.report import Finding
from tollgate.engine.rules.registry import RuleContext, describe, finding, is_live, register


def _matches(value: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatch(value.lower(), glob.lower()) for glob in globs)


def _some(types: list[str], shown: int = 5) -> str:
    """'g5.xlarge is' / 'p3.2xlarge, p3.8xlarge are' / '7 types (a, b, c, d, e, …) are'."""
    if len(types) == 1:
        return f"{types[0]} is"
    if len(types) <= shown:
        return f"{', '.join(types)} are"
    return f"{len(types)} types ({', '.join(types[:shown])}, …) are"


def _gpu_ceiling(item: PricedRequest) -> tuple[float, float] | None:
    """(GPUs at the desired size, GPUs at the maximum size) for requests with GPUs."""
    gpus = item.after.gpus
    instances = item.after.instances
    if not gpus or gpus.kind != "gpu" or not gpus.count_per_instance or instances is None:
        return None
    # A group of unknown size counts at its maximum, as budgets do: unknown is not zero.
    size = instances.desired if instances.desired is not None else (instances.max or 0)
    desired = gpus.count_per_instance * size
    ceiling = gpus.count_per_instance * (instances.max if instances.max is not None else size)
    return desired, max(desired, ceiling)


@register("instance_type", InstanceTypePolicy)
def evaluate_instance_type(policy: InstanceTypePolicy, ctx: RuleContext) -> Iterator[Finding]:
    """Which machines may be asked for: instance type allow/deny globs, GPU model allow/deny,
    GPUs per resource and per change, and no previous-generation types.

    Every candidate type of a group is checked. GPUs per resource count the group at its maximum
    size (what it may scale to); GPUs per change count the net increase at the desired size
    (the GPUs of pods on a node group of the change are that group's, counted once, with it).
    Such pods are not checked for types or GPU models either: the group is, once.
    Non-GPU accelerators (Inferentia, Trainium) are not GPUs here. A GPU whose model the catalog
    does not know fails a model allow-list, because it cannot be shown to be allowed.
    """
    added_gpus = 0.0
    contributors: list[PricedRequest] = []
    for item in ctx.in_scope(policy.scope):
        if not is_live(item):
            if item.before and item.before.gpus and item.before.gpus.kind == "gpu" and item.before.gpus.total:
                added_gpus -= item.before.gpus.total
            continue
        request = item.request
        # Pods on a node group of the change run on its type: the group is checked for it, once.
        types = [] if item.runs_on else list(request.instance_types) or ([request.instance_type] if request.instance_type else [])
        # One finding per request, naming the offending types: a Karpenter NodePool may allow
        # hundreds of types and a reviewer needs one line, not hundreds.
        denied = [t for t in types if policy.deny and _matches(t, policy.deny)]
        outside = [t for t in types if t not in denied and policy.allow and not _matches(t, policy.allow)]
        if denied:
            yield finding(policy, item, f"{describe(item)}: {_some(denied)} denied by '{policy.id}' ({', '.join(policy.deny)})")
        if outside:
            yield finding(policy, item, f"{describe(item)}: {_some(outside)} not in the '{policy.id}' allow-list ({', '.join(policy.allow)})")
        spec = item.after.spec if not item.runs_on else None
        if policy.deny_previous_generation and spec is not None and spec.current_generation is False:
            yield finding(policy, item, f"{describe(item)}: {spec.instance_type} is a previous-generation type")
        gpus = item.after.gpus
        if gpus and gpus.kind == "gpu" and gpus.count_per_instance and not item.runs_on:
            model = gpus.model
            if policy.gpu_models_deny and model and _matches(model, policy.gpu_models_deny):
                yield finding(policy, item, f"{describe(item)}: GPU model {model} is denied by '{policy.id}'")
            elif policy.gpu_models_allow and (model is None or not _matches(model, policy.gpu_models_allow)):
                shown = model or "unknown"
                yield finding(
                    policy, item, f"{describe(item)}: GPU model {shown} is not in the '{policy.id}' allow-list ({', '.join(policy.gpu_models_allow)})"
                )
        counts = _gpu_ceiling(item)
        if counts is None:
            continue
        desired, ceiling = counts
        if policy.max_gpus_per_resource is not None and ceiling > policy.max_gpus_per_resource:
            at = f"{ceiling:g} GPUs at its maximum size" if ceiling != desired else f"{ceiling:g} GPUs"
            yield finding(policy, item, f"{describe(item)} asks for {at}, over the '{policy.id}' limit of {policy.max_gpus_per_resource} per resource")
        if item.runs_on is not None:
            continue  # pods on a node group of this change use that group's GPUs: counted with the group
        before_gpus = item.before.gpus.total if item.before and item.before.gpus and item.before.gpus.total else 0.0
        if desired - before_gpus > 0:
            contributors.append(item)
        added_gpus += desired - before_gpus
    if policy.max_gpus_per_change is not None and added_gpus > policy.max_gpus_per_change:
        anchor = contributors[0] if contributors else None
        names = ", ".join(c.request.address for c in contributors[:4])
        yield finding(
            policy, anchor, f"this change adds {added_gpus:g} GPUs ({names}), over the '{policy.id}' limit of {policy.max_gpus_per_change} per change"
        )
