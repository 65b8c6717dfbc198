"""Suggestions: cheaper configurations of the requests in a change, each with its savings and a
rationale a reviewer can check against the price catalog.

Kinds: packing, rightsize, generation, spot, region, commitment, and (information only) cloud.
Rules: only live, priced requests; only what the active policies allow and the catalog prices;
only positive savings; at most one suggestion per kind per resource, the same target never twice;
ordered by savings (largest first), then address, then kind.

`Report.possible_savings` sums the best suggestion per resource (suggestions on the same resource
are alternatives, not additive), at most the resource's own priced cost, leaving out `cloud`,
which is information only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import msgspec

from tollgate.engine.model import Action, ComputeRequest
from tollgate.engine.money import Money
from tollgate.engine.node_group_links import Links, link_pods
from tollgate.engine.prices import PriceSource
from tollgate.engine.pricing import DEFAULT_HOURS_PER_MONTH, PricedRequest
from tollgate.engine.report import INFORMATION_ONLY_KINDS, Finding, Report, Suggestion
from tollgate.engine.suggest.cloud import suggest_cloud
from tollgate.engine.suggest.commitment import suggest_commitment
from tollgate.engine.suggest.common import Context, Current, current_of, declared, on_demand_part_of
from tollgate.engine.suggest.generation import suggest_generation
from tollgate.engine.suggest.node_groups import NodeGroupContext
from tollgate.engine.suggest.packing import suggest_packing
from tollgate.engine.suggest.policy_guard import PolicyGuard
from tollgate.engine.suggest.region import suggest_region
from tollgate.engine.suggest.rightsize import suggest_rightsize
from tollgate.engine.suggest.spot import suggest_spot
from tollgate.engine.suggest.usage import HIGH_THRESHOLD, Usage, load_usage

if TYPE_CHECKING:
    from tollgate.engine.config_loader import ActiveConfig

__all__ = ["KINDS", "LEVELS", "Usage", "load_usage", "possible_savings", "suggest", "usage_findings"]

Kind = Callable[[Context, Current], "Suggestion | None"]

KINDS: dict[str, Kind] = {
    "packing": suggest_packing,
    "rightsize": suggest_rightsize,
    "generation": suggest_generation,
    "spot": suggest_spot,
    "region": suggest_region,
    "commitment": suggest_commitment,
    "cloud": suggest_cloud,
}
PART_KINDS = ("spot", "commitment")  # the kinds that apply to the on-demand part of a group
_SAFE = ("packing", "rightsize", "generation", "commitment")
LEVELS: dict[str, tuple[str, ...]] = {
    "none": (),
    "safe": _SAFE,
    "default": _SAFE + ("spot", "region"),
    "all": _SAFE + ("spot", "region", "cloud"),
}
INFORMATION_ONLY = INFORMATION_ONLY_KINDS
UTILISATION_HIGH_ID = "utilisation-high"


def suggest(
    resources: list[PricedRequest],
    prices: PriceSource,
    config: ActiveConfig | None,
    hours_per_month: int = DEFAULT_HOURS_PER_MONTH,
    level: str = "default",
    usage: dict[str, Usage] | None = None,
    links: Links | None = None,
) -> list[Suggestion]:
    """`links`: the run's pod-to-node-group links when the caller made them already (`run_check`
    does, once, after pricing); None links the pods here."""
    if level not in LEVELS:
        raise ValueError(f"unknown suggestion level {level!r} (expected one of {', '.join(LEVELS)})")
    kinds = LEVELS[level]
    if not kinds:
        return []
    # Pods scheduled on a node group of the same change: linked once, over every request.
    if links is None:
        links = link_pods(resources, prices) if "packing" in kinds else Links()
    ctx = NodeGroupContext(prices, PolicyGuard(config.policies if config else None), hours_per_month, usage or {}, links=links)
    found: list[Suggestion] = []
    made_for: dict[Any, list[Suggestion]] = {}  # by `_same_answer_key`
    for item in resources:
        cur = current_of(item)
        asked = kinds
        if cur is None:
            # A mixed or multi-type group: moving its on-demand part to spot or committing to it
            # still holds; a different size or region for part of a group is not a suggestion.
            cur = on_demand_part_of(item, prices)
            asked = tuple(kind for kind in kinds if kind in PART_KINDS)
        if cur is None:
            continue
        key = _same_answer_key(ctx, cur, asked) if REUSE_ANSWERS else None
        try:
            earlier = made_for.get(key) if key is not None else None
        except TypeError:  # a field that cannot be a key (a mapping): no reuse, nothing wrong
            key = earlier = None
        if earlier is not None:
            address = cur.request.address
            found.extend(msgspec.structs.replace(s, address=address, from_=dict(s.from_), to=dict(s.to)) for s in earlier)
            continue
        made = _distinct_targets([s for kind in asked if (s := KINDS[kind](ctx, cur)) is not None])
        if key is not None:
            made_for[key] = made
        found.extend(made)
    return _order(_one_per_kind(found))


# Requests that differ only in who they are get the same suggestions, but for the address: a file
# of 1,000 Jobs from one template is answered once per distinct shape. What is left out of the key
# is what no kind reads except through the scope and the declared needs, which are in it.
REUSE_ANSWERS = True
_IDENTITY = frozenset({"address", "source", "tags"})
_SHAPE_FIELDS = tuple(name for name in ComputeRequest.__struct_fields__ if name not in _IDENTITY)


def _same_answer_key(ctx: NodeGroupContext, cur: Current, asked: tuple[str, ...]) -> Any:
    """Everything the suggestions for `cur` are computed from, except its identity; None where
    they depend on other requests of the run (node groups and the pods linked to them), on
    measured usage (by address), or on a before-state."""
    request = cur.request
    if (
        request.before is not None or request.node_group is not None or request.address in ctx.usage
        or ctx.links.is_linked(request) or ctx.links.pods_on(request)
    ):
        return None
    shape = tuple(tuple(v) if isinstance(v, list) else v for v in (getattr(request, name) for name in _SHAPE_FIELDS))
    # The prices, spec and instance counts of `cur` follow from these within one run (one catalog,
    # one hours-per-month, one set of default regions), so they need not be hashed again.
    return (
        asked, shape, tuple(id(p) for p in ctx.guard.in_scope(cur.item)), tuple(sorted(declared(request).items())),
        cur.region, cur.instance_type, cur.option, cur.quantity, cur.part_of,
    )


def _rank(suggestion: Suggestion) -> tuple[int, str, int]:
    return (-suggestion.monthly_savings.nanos, suggestion.address, list(KINDS).index(suggestion.kind))


def _target(suggestion: Suggestion) -> tuple[object, ...]:
    to = suggestion.to
    return tuple(to.get(k) for k in ("instance_type", "quantity", "purchase_option", "region", "provider"))


def _distinct_targets(suggestions: list[Suggestion]) -> list[Suggestion]:
    """On one resource, two kinds that land on the same configuration are one suggestion: the one
    with the larger savings (then the earlier kind) stays."""
    kept: dict[tuple[object, ...], Suggestion] = {}
    for suggestion in sorted(suggestions, key=_rank):
        kept.setdefault(_target(suggestion), suggestion)
    return list(kept.values())


def _one_per_kind(suggestions: list[Suggestion]) -> list[Suggestion]:
    """Requests that share an address (parts of one resource) get one suggestion per kind."""
    kept: dict[tuple[str, str], Suggestion] = {}
    for suggestion in sorted(suggestions, key=_rank):
        kept.setdefault((suggestion.address, suggestion.kind), suggestion)
    return list(kept.values())


def _order(suggestions: list[Suggestion]) -> list[Suggestion]:
    return sorted(suggestions, key=_rank)


def possible_savings(suggestions: list[Suggestion]) -> Money:
    """The best suggestion per resource, summed; `cloud` (information only) is left out."""
    report = Report(pricing_mode="", sources=[], catalog_as_of=None, resources=[], inputs=[], hours_per_month=DEFAULT_HOURS_PER_MONTH)
    report.suggestions = suggestions
    return report.possible_savings()


_METRIC_WORDS = {"cpu": "CPU", "memory": "memory", "gpu": "GPU", "gpu_memory": "GPU memory"}


def usage_findings(resources: list[PricedRequest], usage: dict[str, Usage]) -> list[Finding]:
    """A warning per live request whose measured utilisation is over 90%: it may need more."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for item in resources:
        request = item.request
        measured = usage.get(request.address)
        if measured is None or request.address in seen or request.action is Action.DELETE:
            continue
        high = [m for m in _METRIC_WORDS if (v := measured.get(m)) is not None and v > HIGH_THRESHOLD]
        if not high:
            continue
        seen.add(request.address)
        what = ", ".join(f"{_METRIC_WORDS[m]} {measured.get(m):g}%" for m in high)
        findings.append(
            Finding(
                policy_id=UTILISATION_HIGH_ID,
                severity="warning",
                address=request.address,
                file=request.source.file,
                line=request.source.line,
                message=(
                    f"{request.address}: measured utilisation over {HIGH_THRESHOLD:g}% ({what}) on "
                    f"{request.instance_type or 'its instance type'}: consider a larger size before it saturates"
                ),
            )
        )
    return findings
