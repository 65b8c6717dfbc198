"""Price compute requests against a PriceSource: unit prices, quantities, before/after.

Nothing here turns a missing price into zero. A request that cannot be priced keeps
`hourly=None` and says why in `unpriced_reason`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from fractions import Fraction

from tollgate.engine.model import Action, CapacityUnit, ComputeRequest, PurchaseOption, Quantity
from tollgate.engine.money import Money
from tollgate.engine.prices import InstanceSpec, PriceMiss, PriceQuote, PriceSource

DEFAULT_HOURS_PER_MONTH = 730

# GCP accelerator names (guest_accelerator.type) -> the GPU model names the catalog uses.
GCP_ACCELERATOR_MODELS = {
    "nvidia-tesla-t4": "T4",
    "nvidia-tesla-v100": "V100-16GB",
    "nvidia-tesla-p100": "P100",
    "nvidia-tesla-p4": "P4",
    "nvidia-tesla-k80": "K80",
    "nvidia-l4": "L4",
    "nvidia-tesla-a100": "A100-40GB",
    "nvidia-a100-80gb": "A100-80GB",
    "nvidia-h100-80gb": "H100-80GB",
    "nvidia-h100-mega-80gb": "H100-80GB",
}


@dataclass(frozen=True, slots=True)
class PricedPart:
    """One slice of a request priced at one unit price (a mixed group has an on-demand and a spot part)."""

    option: str
    instance_type: str
    count: int | None  # instances in this part at the desired size
    unit: PriceQuote  # per instance, including attached accelerators


# Accelerators that are not GPUs. The catalog counts them in gpu_count (per instance), but a GPU
# budget or allow-list means NVIDIA/AMD GPUs, so reports keep the two apart.
NON_GPU_ACCELERATOR_PREFIXES = ("Inferentia", "Trainium", "Qualcomm-AI", "Gaudi", "Xilinx")


def accelerator_kind(model: str | None) -> str:
    """'gpu' or 'accelerator' (Inferentia, Trainium, Gaudi, FPGAs...)."""
    if model and model.startswith(NON_GPU_ACCELERATOR_PREFIXES):
        return "accelerator"
    return "gpu"


@dataclass(frozen=True, slots=True)
class GpuSummary:
    count_per_instance: float
    model: str | None
    memory_gib: float | None
    total: float | None  # at the desired size; None when the quantity is unknown

    @property
    def kind(self) -> str:
        return accelerator_kind(self.model)


@dataclass(slots=True)
class StatePrice:
    """The price of one state (before or after) of a request."""

    hourly: Money | None
    parts: list[PricedPart] = field(default_factory=list)
    unpriced_reason: str | None = None
    instances: Quantity | None = None  # quantity in instances (AWS Batch vCPUs converted)
    spec: InstanceSpec | None = None
    gpus: GpuSummary | None = None
    region: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PricedRequest:
    request: ComputeRequest
    after: StatePrice  # hourly is zero for a delete
    before: StatePrice | None  # None for a create

    @property
    def delta_hourly(self) -> Money | None:
        before = self.before.hourly if self.before else Money.zero()
        if self.after.hourly is None or before is None:
            return None
        return self.after.hourly - before


def price_requests(
    requests: list[ComputeRequest],
    prices: PriceSource,
    default_regions: dict[str, str] | None = None,
) -> list[PricedRequest]:
    defaults = default_regions or {}
    priced = []
    for request in requests:
        after = price_state(request, prices, defaults)
        if request.action is Action.DELETE:
            before = after
            # The resource keeps describing what is deleted; only its after-change cost is zero.
            after = StatePrice(
                hourly=Money.zero(), instances=before.instances, spec=before.spec, gpus=before.gpus, region=before.region
            )
        elif request.before is not None:
            before = price_state(request.before, prices, defaults)
        else:
            before = None
        priced.append(PricedRequest(request=request, after=after, before=before))
    return priced


def price_state(request: ComputeRequest, prices: PriceSource, default_regions: dict[str, str]) -> StatePrice:
    provider = request.provider.value
    state = StatePrice(hourly=None)
    region = _region(request, prices, default_regions, state)
    state.region = region
    if request.quantity.unit is CapacityUnit.VCPUS and len(request.instance_types) > 1 and region:
        request = _cheapest_per_vcpu(request, prices, region, state)
    instance_type = request.instance_type
    spec = _spec(prices, provider, instance_type, state) if instance_type else None
    state.spec = spec
    state.instances = _instances(request.quantity, spec, state)
    state.gpus = _gpus(request, spec, state.instances)
    if state.unpriced_reason:
        return state
    if instance_type is None:
        state.unpriced_reason = (
            "instance type is unknown at plan time" if _unknown_type(request) else "no instance type could be determined"
        )
        return state
    if region is None:
        return state

    option_counts = _option_counts(request, state.instances)
    if isinstance(option_counts, str):
        state.unpriced_reason = option_counts
        return state
    total = Money.zero()
    for option, count in option_counts:
        part = _price_part(request, prices, region, option, count, state)
        if isinstance(part, PriceMiss):
            state.unpriced_reason = part.reason
            return state
        state.parts.append(part)
        if count is not None:
            total += part.unit.unit_hourly * count
    if state.instances is None or state.instances.desired is None:
        state.unpriced_reason = "quantity is unknown at plan time"
        return state
    state.hourly = total
    return state


def _spec(prices: PriceSource, provider: str, instance_type: str, state: StatePrice) -> InstanceSpec | None:
    spec = prices.spec(provider, instance_type)
    # Fix (tests/corpus, EXPECTED.md case 9): a SageMaker ML instance (ml.g5.2xlarge) runs on the
    # EC2 hardware of the same name, so its GPUs/vCPUs come from that spec; without this its GPUs
    # were reported as none. Only the spec is borrowed: the price is still looked up for the ml.*
    # type, so it stays unpriced (never the EC2 price) when the catalog has no SageMaker prices.
    if spec is None and provider == "aws" and instance_type.lower().startswith("ml."):
        spec = prices.spec(provider, instance_type[3:])
        if spec is not None:
            state.notes.append(f"GPU/vCPU spec of {instance_type} from EC2 {spec.instance_type} (same hardware)")
    return spec


def _cheapest_per_vcpu(request: ComputeRequest, prices: PriceSource, region: str, state: StatePrice) -> ComputeRequest:
    """A vCPU-sized group (AWS Batch) fills its vCPUs from every allowed type; both the instance
    count and the price follow the type with the lowest price per vCPU, so they agree."""
    option = "spot" if request.purchase_option is PurchaseOption.SPOT else "on_demand"
    best: tuple[Fraction, str] | None = None
    for candidate in request.instance_types:
        spec = prices.spec(request.provider.value, candidate)
        quote = prices.price(request.provider.value, region, candidate, option, request.operating_system)
        if spec is None or not spec.vcpu or not isinstance(quote, PriceQuote):
            continue
        per_vcpu = Fraction(quote.unit_hourly.nanos) / Fraction(str(spec.vcpu))
        if best is None or per_vcpu < best[0]:
            best = (per_vcpu, candidate)
    if best is None:
        return request
    state.notes.append(
        f"vCPU capacity priced with {best[1]}, the lowest {option.replace('_', '-')} price per vCPU of {len(request.instance_types)} allowed types"
    )
    return dataclasses.replace(request, instance_type=best[1], instance_types=(best[1],))


def _unknown_type(request: ComputeRequest) -> bool:
    return any(
        name in request.unknowns
        for name in ("instance_type", "instance_types", "machine_type", "size", "vm_size", "sku", "launch_template")
    )


def _region(
    request: ComputeRequest, prices: PriceSource, default_regions: dict[str, str], state: StatePrice
) -> str | None:
    provider = request.provider.value
    raw = request.region
    if raw is None:
        fallback = default_regions.get(provider)
        if fallback is None:
            state.unpriced_reason = f"region is unknown (set settings.default_region.{provider} or --region-default)"
            return None
        state.notes.append(f"region {fallback} from the default_region setting: the request names none")
        raw = fallback
    region = prices.normalize_region(provider, raw)
    if region is None:
        state.unpriced_reason = f"'{raw}' is not a {provider} region the price catalog knows"
    return region


def _instances(quantity: Quantity, spec: InstanceSpec | None, state: StatePrice) -> Quantity | None:
    if quantity.unit is CapacityUnit.INSTANCES:
        return quantity
    # AWS Batch sizes environments in vCPUs; instances = vCPUs / vCPUs per instance, rounded up
    # because Batch launches whole instances to cover the vCPUs it needs.
    if spec is None or not spec.vcpu:
        state.unpriced_reason = "capacity is in vCPUs and the instance type's vCPU count is unknown"
        return None

    def convert(vcpus: int | None) -> int | None:
        return None if vcpus is None else math.ceil(vcpus / spec.vcpu)

    state.notes.append(f"vCPU capacity converted at {spec.vcpu:g} vCPUs per {spec.instance_type}")
    return Quantity(desired=convert(quantity.desired), min=convert(quantity.min), max=convert(quantity.max))


def _gpus(request: ComputeRequest, spec: InstanceSpec | None, instances: Quantity | None) -> GpuSummary | None:
    per_instance = spec.gpu_count if spec else 0.0
    model = spec.gpu_model if spec else None
    memory = spec.gpu_memory_gib if spec else None
    if per_instance == 0 and request.accelerators:
        per_instance = float(sum(a.count for a in request.accelerators))
        model = GCP_ACCELERATOR_MODELS.get(request.accelerators[0].type, request.accelerators[0].type)
    if spec is None and not request.accelerators:
        return None
    desired = instances.desired if instances else None
    total = per_instance * desired if desired is not None else None
    return GpuSummary(per_instance, model, memory, total)


def _option_counts(request: ComputeRequest, instances: Quantity | None) -> list[tuple[str, int | None]] | str:
    desired = instances.desired if instances else None
    mix = request.purchase_mix
    if mix is not None:
        return [(o, n) for o, n in (("on_demand", mix.on_demand), ("spot", mix.spot)) if n] or [("on_demand", 0)]
    option = request.purchase_option
    if option is PurchaseOption.ON_DEMAND:
        return [("on_demand", desired)]
    if option is PurchaseOption.SPOT:
        return [("spot", desired)]
    if option is PurchaseOption.RESERVED:
        return "prepaid capacity (capacity block / reservation) prices are not in the price catalog"
    return "purchase option is unknown at plan time"


def _price_part(
    request: ComputeRequest, prices: PriceSource, region: str, option: str, count: int | None, state: StatePrice
) -> PricedPart | PriceMiss:
    candidates = list(request.instance_types) or [request.instance_type or ""]
    if option == "spot" and len(candidates) > 1:
        # Spot capacity goes to the cheapest pools (lowest-price / price-capacity-optimized):
        # price the cheapest candidate that has a spot price, and say which one.
        quotes: list[tuple[PriceQuote, str]] = []
        misses: list[str] = []
        for candidate in candidates:
            result = unit_price(request, prices, region, candidate, option)
            if isinstance(result, PriceQuote):
                quotes.append((result, candidate))
            else:
                misses.append(candidate)
        if not quotes:
            return PriceMiss("option_not_offered", f"none of {', '.join(candidates)} has a spot price in {region}")
        quote, chosen = min(quotes, key=lambda pair: pair[0].unit_hourly.nanos)
        note = f"spot priced at the cheapest of {len(candidates)} candidate types: {chosen}"
        if misses:
            note += f" ({', '.join(misses)} has no spot price there)"
        state.notes.append(note)
        return PricedPart(option=option, instance_type=chosen, count=count, unit=quote)
    chosen = candidates[0]
    if len(candidates) > 1:
        state.notes.append(f"on-demand priced at the group's first-priority type {chosen} of {len(candidates)}")
    result = unit_price(request, prices, region, chosen, option)
    if isinstance(result, PriceMiss):
        return result
    return PricedPart(option=option, instance_type=chosen, count=count, unit=result)


def unit_price(
    request: ComputeRequest, prices: PriceSource, region: str, instance_type: str, option: str
) -> PriceQuote | PriceMiss:
    """One instance of `request` as `instance_type`, with its attached accelerators (GCP N1)."""
    provider = request.provider.value
    machine = prices.price(provider, region, instance_type, option, request.operating_system)
    if isinstance(machine, PriceMiss) or not request.accelerators:
        return machine
    spec = prices.spec(provider, instance_type)
    if spec is not None and spec.gpu_count > 0:
        return machine  # A2/A3/G2 bundle their GPUs in the machine price
    total = machine.unit_hourly
    upstream = [machine.upstream]
    as_of = machine.as_of
    for accelerator in request.accelerators:
        gpu = prices.accelerator_price(provider, region, accelerator.type, option)
        if isinstance(gpu, PriceMiss):
            return gpu
        total += gpu.unit_hourly * accelerator.count
        upstream.append(gpu.upstream)
        as_of = min(as_of, gpu.as_of)
    # The oldest date of the parts is the honest as-of date of the sum.
    return PriceQuote(unit_hourly=total, source=machine.source, as_of=as_of, upstream=" + ".join(dict.fromkeys(upstream)))
