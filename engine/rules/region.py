"""Region policies (data residency)."""

from __future__ import annotations

import fnmatch
from typing import Iterator

from tollgate.engine.config_types import RegionPolicy
from tollgate.engine.report import Finding
from tollgate.engine.rules.registry import RuleContext, describe, finding, is_live, register


def _matches(region: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatch(region.lower(), glob.lower()) for glob in globs)


@register("region", RegionPolicy)
def evaluate_region(policy: RegionPolicy, ctx: RuleContext) -> Iterator[Finding]:
    """Where compute may run: per-provider allow and deny lists of regions (globs).

    A provider missing from `allow` is not restricted by it. A request whose region is unknown is
    reported, because residency cannot be shown. Pods on a node group of the change run in its
    region: the group is checked, once.
    """
    for item in ctx.in_scope(policy.scope):
        if not is_live(item) or item.runs_on:  # pods on a node group of the change: the group is checked
            continue
        provider = item.request.provider.value
        allowed = policy.allow.get(provider)  # type: ignore[call-overload]
        denied = policy.deny.get(provider) or []  # type: ignore[call-overload]
        if allowed is None and not denied:
            continue
        region = item.after.region or item.request.region
        if region is None:
            yield finding(policy, item, f"{describe(item)}: the region is unknown, so '{policy.id}' cannot be shown to hold")
        elif denied and _matches(region, denied):
            yield finding(policy, item, f"{describe(item)}: {region} is denied by '{policy.id}' ({', '.join(denied)})")
        elif allowed is not None and not _matches(region, allowed):
            shown = ", ".join(allowed[:5]) + (f", … ({len(allowed)} in all)" if len(allowed) > 5 else "")
            yield finding(policy, item, f"{describe(item)}: {region} is not an allowed {provider} region ({shown or 'none'})")
