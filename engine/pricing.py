"""Price compute requests against a PriceSource: unit prices, quantities, before/after.

Nothing here turns a missing price into zero. A request that cannot be priced keeps
`hourly=None` and says why in `unpriced_reason`.
"""

from __future__ import annotations

import math
from fractions import Fraction

import msgspec

from tollgate.engine.model import Accelerator, Action, CapacityUnit, ComputeRequest, Provider, PurchaseOption, Quantity
from tollgate.engine.gpus import GCP_ACCELERATOR_MODELS, accelerator_kind
from tollgate.engine.money import Money
from tollgate.engine.prices import InstanceSpec, PriceMiss, PriceQuote, PriceSource

DEFAULT_HOURS_PER_MONTH = 730



class PricedPart(msgspec.Struct, frozen=True):
    """One slice of a request priced at one unit price (a mixed group has an on-demand and a spot part)."""

    option: str
    instance_type: str
    count: int | None  # instances in this part at the desired size
    unit: PriceQuote  # per instance, including attached accelerators




class GpuSummary(msgspec.Struct, frozen=True):
    count_per_instance: float
    model: str | None
    memory_gib: float | None
    total: float | None  # at the desired size; None when the quantity is unknown

    @property
    def kind(self) -> str:
        return accelerator_kind(self.model)


class StatePrice(msgspec.Struct):
    """The price of one state (before or after) of a request."""

    hourly: Money | None
    parts: list[PricedPart] = msgspec.field(default_factory=list)
    unpriced_reason: str | None = None
    instances: Quantity | None = None  # quantity in instances (AWS Batch vCPUs converted)
    spec: InstanceSpec | None = None
    gpus: GpuSummary | None = None
    region: str | None = None
    notes: list[str] = msgspec.field(default_factory=list)


class PricedRequest(msgspec.Struct):
    request: ComputeRequest
    after: StatePrice  # hourly is zero for a delete
    before: StatePrice | None  # None for a create
    # A pod request scheduled on a node group of the same check (`engine.node_group_links`): the
    # group's address. Its nodes are priced there, so the pod has no price of its own (hourly None)
    # yet is not unpriced, and adds nothing to the totals.
    runs_on: str | None = None

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
    hours_per_month: int = DEFAULT_HOURS_PER_MONTH,
) -> list[PricedRequest]:
    """`hours_per_month` only matters for requests that run part of the month
    (`hours_per_month_override`, e.g. a Job): their hourly amounts are averaged over it, so that
    hourly x hours_per_month is what they cost in a month."""
    defaults = default_regions or {}
    priced = []
    node_choices: dict[object, object] = {}  # pods that ask for the same thing land on the same node
    for request in requests:
        if request.pod is not None:
            # A Kubernetes pod: the node type, purchase option and attached GPUs are chosen while
            # pricing, so the priced request carries them for policies and reports.
            request, after = price_pod_request(request, prices, defaults, hours_per_month, node_choices)
            priced.append(PricedRequest(request=request, after=after, before=None))
            continue
        if request.node_requirements:
            request, after = price_node_pool_request(request, prices, defaults, hours_per_month)
            priced.append(PricedRequest(request=request, after=after, before=None))
            continue
        after = price_state(request, prices, defaults, hours_per_month=hours_per_month)
        if request.action is Action.DELETE:
            before = after
            # The resource keeps describing what is deleted; only its after-change cost is zero.
            after = StatePrice(
                hourly=Money.zero(), instances=before.instances, spec=before.spec, gpus=before.gpus, region=before.region
            )
        elif request.before is not None:
            before = price_state(request.before, prices, defaults, hours_per_month=hours_per_month)
        else:
            before = None
        priced.append(PricedRequest(request=request, after=after, before=before))
    return priced


def price_state(
    request: ComputeRequest,
    prices: PriceSource,
    default_regions: dict[str, str],
    hours_per_month: int = DEFAULT_HOURS_PER_MONTH,
) -> StatePrice:
    provider = request.provider.value
    state = StatePrice(hourly=None)
    region = _region(request, prices, default_regions, state)
    state.region = region
    # A requirement-based pool's types are already ordered, cheapest node first, by the reader's
    # cached catalog scan; re-ranking hundreds of them per vCPU on every run costs more than it tells.
    if request.quantity.unit is CapacityUnit.VCPUS and len(request.instance_types) > 1 and region and not request.node_requirements:
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
        part = _price_part(request, prices, region, option, count, state, hours_per_month)
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
    return msgspec.structs.replace(request, instance_type=best[1], instance_types=(best[1],))


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
    request: ComputeRequest,
    prices: PriceSource,
    region: str,
    option: str,
    count: int | None,
    state: StatePrice,
    hours_per_month: int = DEFAULT_HOURS_PER_MONTH,
) -> PricedPart | PriceMiss:
    candidates = list(request.instance_types) or [request.instance_type or ""]
    if option == "spot" and len(candidates) > 1:
        # Spot capacity goes to the cheapest pools (lowest-price / price-capacity-optimized):
        # price the cheapest candidate that has a spot price, and say which one.
        quotes: list[tuple[PriceQuote, str]] = []
        misses: list[str] = []
        for candidate in candidates:
            result = unit_price(request, prices, region, candidate, option, hours_per_month)
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
    result = unit_price(request, prices, region, chosen, option, hours_per_month)
    if isinstance(result, PriceMiss):
        return result
    return PricedPart(option=option, instance_type=chosen, count=count, unit=result)


def unit_price(
    request: ComputeRequest,
    prices: PriceSource,
    region: str,
    instance_type: str,
    option: str,
    hours_per_month: int = DEFAULT_HOURS_PER_MONTH,
) -> PriceQuote | PriceMiss:
    """One unit of `request` as `instance_type`: an instance with its attached accelerators (GCP
    N1); for a pod, its share of such a node. A request that runs only part of the month
    (`hours_per_month_override`) has the unit averaged over `hours_per_month`."""
    quote = machine_price(
        prices, request.provider.value, region, instance_type, request.accelerators, option, request.operating_system
    )
    if isinstance(quote, PriceMiss):
        return quote
    factor = Fraction(1)
    if request.pod is not None:
        from tollgate.engine.kubernetes.nodes import candidate_for, pod_share

        spec = prices.spec(request.provider.value, instance_type)
        if spec is None:
            return PriceMiss("unknown_type", f"'{instance_type}' has no spec in the price catalog, so a pod's share of it is unknown")
        share = pod_share(request.pod, candidate_for(spec, request.accelerators))
        if isinstance(share, str):
            return PriceMiss("does_not_fit", share)
        factor *= share[0]
    factor *= running_fraction(request, hours_per_month)
    if factor == 1:
        return quote
    return msgspec.structs.replace(quote, unit_hourly=quote.unit_hourly * factor)


def running_fraction(request: ComputeRequest, hours_per_month: int = DEFAULT_HOURS_PER_MONTH) -> Fraction:
    """The part of the month a request runs: its override hours / hours_per_month, else 1."""
    if request.hours_per_month_override is None:
        return Fraction(1)
    return Fraction(repr(float(request.hours_per_month_override))) / hours_per_month


def machine_price(
    prices: PriceSource,
    provider: str,
    region: str,
    instance_type: str,
    accelerators: tuple[Accelerator, ...],
    option: str,
    operating_system: str = "linux",
) -> PriceQuote | PriceMiss:
    """One instance of `instance_type` with its attached accelerators (GCP N1)."""
    machine = prices.price(provider, region, instance_type, option, operating_system)
    if isinstance(machine, PriceMiss) or not accelerators:
        return machine
    spec = prices.spec(provider, instance_type)
    if spec is not None and spec.gpu_count > 0:
        return machine  # A2/A3/G2 bundle their GPUs in the machine price
    total = machine.unit_hourly
    upstream = [machine.upstream]
    details = [machine.detail] if machine.detail else []
    fallbacks = [machine.fallback] if machine.fallback else []
    sources = {machine.source}
    as_of = machine.as_of
    for accelerator in accelerators:
        gpu = prices.accelerator_price(provider, region, accelerator.type, option)
        if isinstance(gpu, PriceMiss):
            return gpu
        total += gpu.unit_hourly * accelerator.count
        upstream.append(gpu.upstream)
        details += [gpu.detail] if gpu.detail else []
        fallbacks += [gpu.fallback] if gpu.fallback else []
        sources.add(gpu.source)
        as_of = min(as_of, gpu.as_of)
    # The oldest date of the parts is the honest as-of date of the sum.
    return PriceQuote(
        unit_hourly=total,
        # A live machine price with a bundled GPU price is neither: say so rather than pick one.
        source=machine.source if len(sources) == 1 else "+".join(sorted(sources)),
        as_of=as_of,
        upstream=" + ".join(dict.fromkeys(upstream)),
        detail="; ".join(dict.fromkeys(details)),
        fallback="; ".join(dict.fromkeys(fallbacks)),
    )


# --- Kubernetes: pods priced as their share of a node, Karpenter NodePools ------------------------


def _option_name(option: PurchaseOption) -> str | None:
    return {PurchaseOption.SPOT: "spot", PurchaseOption.ON_DEMAND: "on_demand"}.get(option)


def _pod_gpus(request: ComputeRequest, model: str | None, memory: float | None) -> GpuSummary | None:
    pod = request.pod
    if pod is None or not pod.gpus:
        return None
    desired = request.quantity.desired
    return GpuSummary(pod.gpus, model or pod.gpu_model, memory, pod.gpus * desired if desired is not None else None)


def _running_note(request: ComputeRequest, hours_per_month: int) -> str | None:
    hours = request.hours_per_month_override
    if hours is None:
        return None
    return (
        f"runs {hours:g} h/month, not all month: hourly amounts are averaged over {hours_per_month} h "
        f"(hourly x {hours_per_month} = the monthly cost of {hours:g} h of running)"
    )


def price_pod_request(
    request: ComputeRequest,
    prices: PriceSource,
    default_regions: dict[str, str],
    hours_per_month: int = DEFAULT_HOURS_PER_MONTH,
    node_choices: dict[object, object] | None = None,
) -> tuple[ComputeRequest, StatePrice]:
    """A Kubernetes pod request -> (the request with its node type, option and attached GPUs
    filled in, its price): share of the node x pods (x the part of the month it runs).
    `node_choices` memoises the node choice and unit price across requests that ask for the same thing."""
    from tollgate.engine.kubernetes.nodes import NodeCandidate, NodeChoice, choose_node, pod_share

    pod = request.pod
    assert pod is not None
    state = StatePrice(hourly=None, instances=request.quantity)
    state.gpus = _pod_gpus(request, None, None)
    pods = request.quantity.desired
    if pods == 0:
        state.hourly = Money.zero()
        state.notes.append("0 pods: it costs nothing until it is scaled up")
        return request, state
    unknown_size = [name for name, value in (("cpu", pod.cpu), ("memory", pod.memory_gib), ("gpus", pod.gpus)) if value is None]
    if unknown_size:
        state.unpriced_reason = f"the pod's {' and '.join(unknown_size)} request is unknown (an unresolved placeholder)"
        return request, state
    if not pod.cpu and not pod.memory_gib and not pod.gpus:
        state.unpriced_reason = (
            "the pod requests no CPU, memory or accelerators (BestEffort), so its share of a node is unknown; "
            "set resources.requests"
        )
        return request, state
    unknown_run = [u for u in ("expected_hours", "schedule") if u in request.unknowns]
    if unknown_run:
        state.unpriced_reason = f"how long it runs is unknown ({', '.join(unknown_run)})"
        return request, state
    if request.provider is Provider.UNKNOWN:
        state.unpriced_reason = (
            "cloud provider is unknown: add a cluster profile (`cluster:` in tollgate.yaml) or node labels that name the cloud"
        )
        return request, state
    region = _region(request, prices, default_regions, state)
    state.region = region
    if region is None:
        return request, state

    def node_price(candidate: NodeCandidate, option: str) -> PriceQuote | PriceMiss:
        return machine_price(
            prices, request.provider.value, region, candidate.instance_type, candidate.accelerators, option, request.operating_system
        )

    key = (
        pod, request.provider, region, request.purchase_option, request.purchase_reason, request.operating_system,
        request.instance_type, request.instance_types, tuple(n for n in request.notes if "unresolved placeholder" in n),
    )
    cached = node_choices.get(key) if node_choices is not None else None
    choice = cached if isinstance(cached, (str, NodeChoice)) else choose_node(request, prices, region, node_price)
    if node_choices is not None:
        node_choices[key] = choice
    if isinstance(choice, str):
        state.unpriced_reason = choice
        return request, state
    node = choice.candidate
    resolved = msgspec.structs.replace(
        request,
        instance_type=node.instance_type,
        instance_types=(),
        accelerators=node.accelerators,
        purchase_option=choice.option,
        purchase_reason=choice.purchase_reason,
        unknowns=list(request.unknowns),
        notes=list(request.notes),
    )
    state.spec = node.spec
    state.gpus = _pod_gpus(resolved, node.gpu_model, node.gpu_memory_gib)
    state.notes.extend(choice.notes)  # copied: a memoised choice is shared
    if pods is None:
        hint = " (a DaemonSet runs one pod on every matching node)" if request.kind == "DaemonSet" else ""
        state.unpriced_reason = f"the number of pods is unknown{hint}"
        return resolved, state
    option = _option_name(choice.option)
    if option is None:
        state.unpriced_reason = (
            "prepaid capacity (capacity block / reservation) prices are not in the price catalog"
            if choice.option is PurchaseOption.RESERVED
            else "purchase option is unknown"
        )
        return resolved, state
    # The unit depends on the pod's shape, its node and how long it runs, not on its name.
    quote_key = ("unit", pod, request.provider, region, node, option, request.operating_system, request.hours_per_month_override)
    quote = node_choices.get(quote_key) if node_choices is not None else None
    if not isinstance(quote, (PriceQuote, PriceMiss)):
        quote = unit_price(resolved, prices, region, node.instance_type, option, hours_per_month)
        if node_choices is not None:
            node_choices[quote_key] = quote
    if isinstance(quote, PriceMiss):
        state.unpriced_reason = quote.reason
        return resolved, state
    share = pod_share(pod, node)
    if not isinstance(share, str):
        state.notes.append(f"each pod is priced as {share[0].numerator}/{share[0].denominator} of a {node.label()} ({share[1]})")
    if pod.shared_gpu:
        state.notes.append("time-sliced or virtual GPUs: a pod may get part of a physical GPU; priced as whole GPUs (an upper bound)")
    running = _running_note(request, hours_per_month)
    if running:
        state.notes.append(running)
    state.parts.append(PricedPart(option=option, instance_type=node.instance_type, count=pods, unit=quote))
    state.hourly = quote.unit_hourly * pods
    return resolved, state


def resolve_requirement_pool(request: ComputeRequest, prices: PriceSource, region: str) -> ComputeRequest | str:
    """A requirement-based node pool (Karpenter NodePool) with its candidate types filled in,
    cheapest node first; or why there are none. Scans the whole catalog, so the manifest reader's
    cached step calls it once per file version (`prepare_node_pools`), not once per run."""
    from tollgate.engine.kubernetes.nodes import NodeCandidate, resolve_pool_types

    def node_price(candidate: NodeCandidate, word: str) -> PriceQuote | PriceMiss:
        return machine_price(prices, request.provider.value, region, candidate.instance_type, (), word, request.operating_system)

    types = resolve_pool_types(request.node_requirements, prices, request.provider.value, node_price, request.purchase_option)
    if isinstance(types, str):
        return types
    resolved = msgspec.structs.replace(
        request, instance_type=types[0], instance_types=tuple(types), unknowns=list(request.unknowns), notes=list(request.notes)
    )
    resolved.note(f"{len(types)} catalog types meet the requirements; the cheapest node is {types[0]}")
    return resolved


def prepare_node_pools(requests: list[ComputeRequest], prices: PriceSource) -> list[ComputeRequest]:
    """Resolve requirement-based node pools whose region is known, ahead of pricing."""
    prepared = []
    for request in requests:
        if request.node_requirements and request.instance_type is None and not request.instance_types and request.region:
            region = prices.normalize_region(request.provider.value, request.region)
            found = resolve_requirement_pool(request, prices, region) if region else None
            if isinstance(found, ComputeRequest):
                request = found
        prepared.append(request)
    return prepared


def price_node_pool_request(
    request: ComputeRequest,
    prices: PriceSource,
    default_regions: dict[str, str],
    hours_per_month: int = DEFAULT_HOURS_PER_MONTH,
) -> tuple[ComputeRequest, StatePrice]:
    """A node pool given by requirements (Karpenter NodePool): its candidate types are the catalog
    types meeting them, cheapest first; then priced like any group of those types. Its nodes are
    launched for pending pods (priced with the pods), so its own size is what it holds now (0, or
    static replicas), and its limits are the ceiling, reported in the notes."""

    state = StatePrice(hourly=None, instances=request.quantity)
    if request.provider is Provider.UNKNOWN:
        state.unpriced_reason = "cloud provider is unknown: add a cluster profile (`cluster:` in tollgate.yaml)"
        return request, state
    region = _region(request, prices, default_regions, state)
    state.region = region
    if region is None:
        return request, state
    resolved = request
    if request.instance_type is None and not request.instance_types:
        found = resolve_requirement_pool(request, prices, region)
        if isinstance(found, str):
            state.unpriced_reason = found
            return request, state
        resolved = found
    state = price_state(resolved, prices, default_regions, hours_per_month=hours_per_month)
    instances = state.instances
    if instances is not None and instances.max is not None and state.parts:
        part = state.parts[0]
        ceiling = part.unit.unit_hourly * instances.max * hours_per_month
        capacity = f"{request.quantity.max} vCPUs" if request.quantity.unit is CapacityUnit.VCPUS else f"{instances.max} nodes"
        state.notes.append(
            f"ceiling: at its limits ({capacity} = {instances.max} × {part.instance_type}) it would cost {ceiling}/month"
        )
    return resolved, state
