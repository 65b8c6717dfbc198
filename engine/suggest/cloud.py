"""`cloud` (information only, `--suggest all`): the same shape (GPU model, else at least its GPU
memory; GPU count, vCPU, memory) on the other two providers in a comparable region. Never a
drop-in move: networking, data egress, quotas, images and prices of everything else differ."""

from __future__ import annotations

from tollgate.engine.money import Money
from tollgate.engine.prices import InstanceSpec, PriceQuote
from tollgate.engine.report import Suggestion
from tollgate.engine.suggest.common import (
    Context,
    Current,
    Needs,
    allowed,
    cheapest,
    describe_spec,
    fits,
    gpus_of,
    is_burstable,
    make,
    monthly,
    option_word,
    state,
)

# Comparable regions: (aws, gcp, azure).
REGION_MAP: tuple[tuple[str, str, str], ...] = (
    ("us-east-1", "us-central1", "eastus"),
    ("us-east-2", "us-east4", "eastus2"),
    ("us-west-2", "us-west1", "westus2"),
    ("us-west-1", "us-west2", "westus"),
    ("ca-central-1", "northamerica-northeast1", "canadacentral"),
    ("sa-east-1", "southamerica-east1", "brazilsouth"),
    ("eu-west-1", "europe-west1", "westeurope"),
    ("eu-west-2", "europe-west2", "uksouth"),
    ("eu-central-1", "europe-west3", "germanywestcentral"),
    ("eu-north-1", "europe-north1", "swedencentral"),
    ("ap-northeast-1", "asia-northeast1", "japaneast"),
    ("ap-southeast-1", "asia-southeast1", "southeastasia"),
    ("ap-southeast-2", "australia-southeast1", "australiaeast"),
    ("ap-south-1", "asia-south1", "centralindia"),
)
PROVIDERS = ("aws", "gcp", "azure")


def comparable_region(provider: str, region: str, target: str) -> str | None:
    column = PROVIDERS.index(provider)
    for row in REGION_MAP:
        if row[column] == region:
            return row[PROVIDERS.index(target)]
    return None


def suggest_cloud(ctx: Context, cur: Current) -> Suggestion | None:
    spec = cur.spec
    if spec is None or cur.request.pod is not None or cur.provider not in PROVIDERS:
        return None
    current = gpus_of(spec, cur.request)
    if current.count and current.model is None:
        return None  # an unnamed GPU has no comparable shape
    burstable = is_burstable(spec)
    best: tuple[int, str, InstanceSpec, Money, str] | None = None
    for target in PROVIDERS:
        region = comparable_region(cur.provider, cur.region, target) if target != cur.provider else None
        if region is None:
            continue
        shapes = [Needs(current.count, current.model if current.count else None, None, spec.vcpu, spec.memory_gib, current.kind, spec.arch, burstable=burstable)]
        if current.count and current.memory_gib and current.vendor:
            shapes.append(
                Needs(current.count, None, current.memory_gib, spec.vcpu, spec.memory_gib, current.kind, spec.arch, burstable=burstable, gpu_vendor=current.vendor)
            )

        def price(candidate: InstanceSpec, region: str = region, target: str = target) -> Money | None:
            result = ctx.prices.price(target, region, candidate.instance_type, cur.option, cur.request.operating_system)
            return result.unit_hourly if isinstance(result, PriceQuote) else None

        for needs in shapes:

            def accept(candidate: InstanceSpec, needs: Needs = needs, region: str = region) -> bool:
                # Only bundled GPUs abroad: attached GCP GPUs are the current request's own.
                return bool(candidate.gpu_count or not needs.gpus) and fits(candidate, needs, cur.request) and allowed(
                    ctx, cur, candidate, region
                )

            found = cheapest(ctx, cur, accept, price, provider=target)
            if found is not None:
                key = (found[1].nanos, target)
                if best is None or key < (best[0], best[1]):
                    best = (key[0], target, found[0], found[1], region)
                break  # the same GPU model found: no need to fall back to GPU memory
    if best is None:
        return None
    _, target, chosen, unit, region = best
    to_hourly = unit * cur.quantity
    rationale = (
        f"information only, not a drop-in move: the same shape ({describe_spec(spec, cur.request)}) on {target} is "
        f"{chosen.instance_type} ({describe_spec(chosen, cur.request)}) in {region}, {monthly(ctx, to_hourly)} "
        f"{option_word(cur.option)} instead of {monthly(ctx, cur.hourly)}; networking, data egress, quotas and images differ"
    )
    to = state(ctx, chosen.instance_type, cur.quantity, cur.option, region, target, to_hourly)
    return make(ctx, "cloud", cur, to, cur.hourly, to_hourly, rationale)
