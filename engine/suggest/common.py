"""What every suggestion kind shares: the current configuration of a request, what it needs,
catalog search for the cheapest priced type that fits, and building a `Suggestion`."""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Protocol, runtime_checkable

import msgspec

from tollgate.engine.gpus import GCP_ACCELERATOR_MODELS, accelerator_kind
from tollgate.engine.model import Action, CapacityUnit, ComputeRequest
from tollgate.engine.money import Money
from tollgate.engine.prices import InstanceSpec, PriceQuote, PriceSource
from tollgate.engine.pricing import PricedPart, PricedRequest, machine_price, running_fraction, unit_price
from tollgate.engine.report import Suggestion
from tollgate.engine.suggest.policy_guard import PolicyGuard
from tollgate.engine.suggest.usage import Usage


@runtime_checkable
class CatalogSearch(Protocol):
    """What candidate search needs on top of `PriceSource` (the bundled catalog has it)."""

    def types_for(self, provider: str) -> tuple[InstanceSpec, ...]: ...

    def regions_for(self, provider: str) -> tuple[str, ...]: ...


# GPU memory per GPU of GCP accelerators attached to N1 machines (the catalog spec has none).
ATTACHED_GPU_MEMORY_GIB = {"T4": 16.0, "V100-16GB": 16.0, "P100": 16.0, "P4": 8.0, "K80": 12.0}

NEEDS_GPUS = "tollgate.dev/needs-gpus"
NEEDS_GPU_MEMORY = "tollgate.dev/needs-gpu-memory"
NEEDS_VCPU = "tollgate.dev/needs-vcpu"
NEEDS_MEMORY = "tollgate.dev/needs-memory"


class Context(msgspec.Struct):
    prices: PriceSource
    guard: PolicyGuard
    hours_per_month: int
    usage: dict[str, Usage]
    # Unit prices asked for again and again: a manifest file with 1,000 similar pods searches the
    # same catalog types for the same pod shape, and the answer does not depend on the pod's name.
    quotes: dict[tuple[Any, ...], Money | None] = msgspec.field(default_factory=dict)
    searches: dict[tuple[Any, ...], Any] = msgspec.field(default_factory=dict)  # catalog searches by request shape
    # Checked once: isinstance against a runtime-checkable Protocol inspects every member.
    catalog: CatalogSearch | None = None  # set from `prices` after construction

    def __post_init__(self) -> None:
        self.catalog = self.prices if isinstance(self.prices, CatalogSearch) else None


class Current(msgspec.Struct, frozen=True):
    """A live, priced, single-part request as it is configured now."""

    item: PricedRequest
    request: ComputeRequest
    provider: str
    region: str
    instance_type: str
    option: str  # on_demand | spot
    quantity: int  # instances, or pods for a Kubernetes pod request
    unit: Money  # per instance (per pod: its share of the node)
    hourly: Money
    spec: InstanceSpec | None
    part_of: str | None = None  # set when this is one part of a mixed or multi-type group: which


def on_demand_part_of(item: PricedRequest, prices: PriceSource) -> Current | None:
    """The on-demand part of a mixed on-demand/spot group, or of a group that may launch several
    types (priced at its first-priority type), as a request of its own: what `spot` and
    `commitment` can still say about such groups. None where `current_of` already applies."""
    request = item.request
    after = item.after
    if request.purchase_mix is None and len(request.instance_types) <= 1:
        return None  # one type, one option: `current_of` says all there is to say
    if request.action is Action.DELETE or after.hourly is None or after.region is None:
        return None
    if request.node_requirements or request.quantity.unit is CapacityUnit.VCPUS or request.pod is not None:
        return None
    parts = [p for p in after.parts if p.option == "on_demand" and p.count]
    if len(parts) != 1:
        return None
    part = parts[0]
    count = part.count
    if count is None:
        return None
    spec = after.spec if after.spec is not None and after.spec.instance_type == part.instance_type else None
    spec = spec or prices.spec(request.provider.value, part.instance_type)
    return _current(item, after.region, part, count, part.unit.unit_hourly * count, spec, _group_words(request))


def _group_words(request: ComputeRequest) -> str:
    mix = request.purchase_mix
    if mix is not None:
        return f"the on-demand part of a mixed group: {mix.on_demand} of {mix.on_demand + mix.spot} instances"
    return f"a group that may launch {len(request.instance_types)} types, priced at its first-priority type"


def current_of(item: PricedRequest) -> Current | None:
    """None for what suggestions leave alone: deletes, unpriced or free requests, mixed groups,
    multi-type groups, requirement-based pools and vCPU-sized capacity."""
    request = item.request
    after = item.after
    if request.action is Action.DELETE or after.hourly is None or after.hourly.nanos <= 0 or after.region is None:
        return None
    if len(after.parts) != 1 or request.purchase_mix is not None or len(request.instance_types) > 1:
        return None
    if request.node_requirements or request.quantity.unit is CapacityUnit.VCPUS:
        return None
    part = after.parts[0]
    if part.count is None or part.count <= 0 or part.option not in ("on_demand", "spot"):
        return None
    return _current(item, after.region, part, part.count, after.hourly, after.spec)


def _current(
    item: PricedRequest, region: str, part: PricedPart, count: int, hourly: Money, spec: InstanceSpec | None, part_of: str | None = None
) -> Current:
    request = item.request
    return Current(
        item=item,
        request=request,
        provider=request.provider.value,
        region=region,
        instance_type=part.instance_type,
        option=part.option,
        quantity=count,
        unit=part.unit.unit_hourly,
        hourly=hourly,
        spec=spec,
        part_of=part_of,
    )


class Gpus(msgspec.Struct, frozen=True):
    count: float
    model: str | None
    memory_gib: float | None  # per GPU

    @property
    def kind(self) -> str:
        return accelerator_kind(self.model)

    @property
    def vendor(self) -> str | None:
        return gpu_vendor(self.model)


_NO_GPUS = Gpus(0.0, None, None)


_AMD_PREFIXES = ("radeon", "mi", "instinct", "amd")


def gpu_vendor(model: str | None) -> str | None:
    """'nvidia' or 'amd' (software stacks differ: CUDA vs ROCm); None when the model is unknown."""
    if not model:
        return None
    return "amd" if model.lower().startswith(_AMD_PREFIXES) else "nvidia"


def gpus_of(spec: InstanceSpec, request: ComputeRequest) -> Gpus:
    """GPUs of one instance of `spec` for this request: bundled, or the request's attached GCP GPUs on an N1."""
    if spec.gpu_count:
        return Gpus(spec.gpu_count, spec.gpu_model, spec.gpu_memory_gib)
    if request.accelerators and spec.provider == "gcp" and spec.family == "n1":
        model = GCP_ACCELERATOR_MODELS.get(request.accelerators[0].type, request.accelerators[0].type)
        return Gpus(float(sum(a.count for a in request.accelerators)), model, ATTACHED_GPU_MEMORY_GIB.get(model))
    return _NO_GPUS


class Needs(msgspec.Struct, frozen=True):
    """What one unit (instance, or pod) must have. None: no constraint."""

    gpus: float
    gpu_model: str | None  # a catalog model, or a family such as "A100"
    gpu_memory_gib: float | None  # per GPU
    vcpu: float | None
    memory_gib: float | None
    gpu_kind: str = "gpu"
    arch: str | None = None
    current_generation: bool = False  # only types the catalog does not mark previous-generation
    burstable: bool = False  # burstable / shared-core types are candidates only for burstable workloads
    gpu_vendor: str | None = None  # when the model may change, the vendor may not (CUDA vs ROCm)

    def describe(self) -> str:
        parts = []
        if self.gpus:
            what = self.gpu_model or (f"≥{self.gpu_memory_gib:g} GiB" if self.gpu_memory_gib else "any")
            parts.append(f"{self.gpus:g} GPU ({what})")
        if self.vcpu is not None:
            parts.append(f"{self.vcpu:g} vCPU")
        if self.memory_gib is not None:
            parts.append(f"{self.memory_gib:g} GiB memory")
        return ", ".join(parts) or "nothing declared"


def model_matches(candidate: str | None, wanted: str) -> bool:
    if candidate is None:
        return False
    c, w = candidate.lower(), wanted.lower()
    return c == w or c.startswith(w + "-")


def fits(spec: InstanceSpec, needs: Needs, request: ComputeRequest) -> bool:
    gpus = gpus_of(spec, request)
    if needs.gpus:
        if gpus.count < needs.gpus or gpus.kind != needs.gpu_kind:
            return False
        if needs.gpu_model is not None and not model_matches(gpus.model, needs.gpu_model):
            return False
        if needs.gpu_memory_gib is not None and (gpus.memory_gib is None or gpus.memory_gib < needs.gpu_memory_gib):
            return False
        if needs.gpu_vendor is not None and gpus.vendor != needs.gpu_vendor:
            return False
    elif gpus.count:
        return False  # no GPUs asked for: a GPU machine is never the right size
    if needs.vcpu is not None and spec.vcpu < needs.vcpu:
        return False
    if needs.memory_gib is not None and (spec.memory_gib is None or spec.memory_gib < needs.memory_gib):
        return False
    if needs.arch is not None and spec.arch != needs.arch:
        return False
    if needs.current_generation and spec.current_generation is False:
        return False
    if not needs.burstable and is_burstable(spec):
        return False
    return True


_GCP_SHARED_CORE = ("e2-micro", "e2-small", "e2-medium", "f1-micro", "g1-small")


def is_burstable(spec: InstanceSpec) -> bool:
    """CPU-credit or shared-core types (AWS t2/t3/t3a/t4g, Azure B-series, GCP shared-core): never
    the equivalent of a fixed-performance machine."""
    if spec.provider == "aws":
        return len(spec.family) >= 2 and spec.family[0] == "t" and spec.family[1].isdigit()
    if spec.provider == "azure":
        return spec.family.startswith("B")
    if spec.provider == "gcp":
        return spec.instance_type.lower() in _GCP_SHARED_CORE
    return False


def quote(
    ctx: Context, cur: Current, instance_type: str, option: str, region: str | None = None, request: ComputeRequest | None = None
) -> Money | None:
    """The unit price of the request as `instance_type` (a pod: its share), or None when not priced."""
    asked = request or cur.request
    where = region or cur.region
    key = (
        asked.provider, where, instance_type, option, asked.accelerators, asked.operating_system,
        asked.pod, asked.hours_per_month_override,
    )
    if key not in ctx.quotes:
        result = unit_price(asked, ctx.prices, where, instance_type, option, ctx.hours_per_month)
        ctx.quotes[key] = result.unit_hourly if isinstance(result, PriceQuote) else None
    return ctx.quotes[key]


def node_price(ctx: Context, cur: Current, instance_type: str, option: str) -> Money | None:
    """One whole node (machine plus attached GPUs), for packing pods."""
    request = cur.request
    result = machine_price(
        ctx.prices, cur.provider, cur.region, instance_type, request.accelerators, option, request.operating_system
    )
    return result.unit_hourly if isinstance(result, PriceQuote) else None


def _size_key(spec: InstanceSpec, request: ComputeRequest) -> tuple[float, float, float, str]:
    return (gpus_of(spec, request).count, spec.vcpu, spec.memory_gib or 0.0, spec.instance_type)


def cheapest(
    ctx: Context,
    cur: Current,
    accept: Callable[[InstanceSpec], bool],
    price: Callable[[InstanceSpec], Money | None],
    provider: str | None = None,
    estimate: Callable[[InstanceSpec], float | None] | None = None,
) -> tuple[InstanceSpec, Money] | None:
    """The cheapest priced catalog type that `accept`s; ties go to the smaller, then the name.

    `estimate`, when given, is `price` in floating point (None where `price` is None). The types
    are then priced exactly in estimated order, and the search stops at the first whose estimate
    is above the cheapest exact price found: the same answer for a few exact prices instead of
    hundreds (a pod's exact share of a node is rational arithmetic)."""
    catalog = ctx.catalog
    if catalog is None:
        return None
    accepted = [spec for spec in catalog.types_for(provider or cur.provider) if accept(spec)]
    order: list[tuple[float, InstanceSpec]] | None = None
    if estimate is not None:
        order = sorted(
            ((value, spec) for spec in accepted if (value := estimate(spec)) is not None), key=lambda pair: pair[0]
        )
    best: tuple[int, tuple[float, float, float, str], InstanceSpec, Money] | None = None
    for value, spec in order if order is not None else ((0.0, spec) for spec in accepted):
        if order is not None and best is not None and value > best[0] * (1 + 1e-9) + 1:
            break  # beyond float error (and a nano-dollar) of the best exact price: cannot win
        amount = price(spec)
        if amount is None:
            continue
        key = (amount.nanos, _size_key(spec, cur.request))
        if best is None or key < (best[0], best[1]):
            best = (key[0], key[1], spec, amount)
    return None if best is None else (best[2], best[3])


def cheapest_fit(
    ctx: Context, cur: Current, needs: Needs, also: Callable[[InstanceSpec], bool], search: str
) -> tuple[InstanceSpec, Money] | None:
    """The cheapest type in the request's region that fits `needs`, passes `also` and the active
    policies, priced as the request would be on it (a pod: its share of the node). Memoised by
    request shape: `search` names the `also` rule, which may depend only on what `shape_key` holds."""
    key = (search, needs, shape_key(ctx, cur))
    if key not in ctx.searches:

        def accept(spec: InstanceSpec) -> bool:
            return also(spec) and fits(spec, needs, cur.request) and allowed(ctx, cur, spec)

        def exact(spec: InstanceSpec) -> Money | None:
            return quote(ctx, cur, spec.instance_type, cur.option, request=with_type(cur.request, spec))

        ctx.searches[key] = cheapest(ctx, cur, accept, exact, estimate=_pod_estimate(ctx, cur))
    found: tuple[InstanceSpec, Money] | None = ctx.searches[key]
    return found


def _pod_estimate(ctx: Context, cur: Current) -> Callable[[InstanceSpec], float | None] | None:
    """A pod's price on a type as a float, in nano-dollars per hour: node price x share x the part of
    the month it runs, the float twin of `unit_price` for a pod."""
    pod = cur.request.pod
    if pod is None:
        return None
    from tollgate.engine.kubernetes.nodes import candidate_for, share_estimate

    running = float(running_fraction(cur.request, ctx.hours_per_month))

    def estimate(spec: InstanceSpec) -> float | None:
        request = with_type(cur.request, spec)
        node = machine_price(
            ctx.prices, cur.provider, cur.region, spec.instance_type, request.accelerators, cur.option, request.operating_system
        )
        if not isinstance(node, PriceQuote):
            return None
        share = share_estimate(pod, candidate_for(spec, request.accelerators))
        return None if share is None else node.unit_hourly.nanos * share * running

    return estimate


def with_type(request: ComputeRequest, spec: InstanceSpec) -> ComputeRequest:
    """The request on another type: attached GCP GPUs stay only on an N1."""
    if request.accelerators and not (spec.provider == "gcp" and spec.family == "n1" and not spec.gpu_count):
        return msgspec.structs.replace(request, accelerators=(), unknowns=list(request.unknowns), notes=list(request.notes))
    return request


def state(
    ctx: Context, instance_type: str, quantity: int, option: str, region: str, provider: str, hourly: Money
) -> dict[str, Any]:
    return {
        "instance_type": instance_type,
        "quantity": quantity,
        "purchase_option": option,
        "region": region,
        "provider": provider,
        "hourly_usd": hourly.rounded(6),
        "monthly_usd": (hourly * ctx.hours_per_month).rounded(2),
    }


def from_state(ctx: Context, cur: Current, hourly: Money | None = None, quantity: int | None = None) -> dict[str, Any]:
    return state(
        ctx, cur.instance_type, cur.quantity if quantity is None else quantity, cur.option, cur.region, cur.provider,
        cur.hourly if hourly is None else hourly,
    )


def make(
    ctx: Context, kind: str, cur: Current, to: dict[str, Any], from_hourly: Money, to_hourly: Money, rationale: str,
    from_: dict[str, Any] | None = None,
) -> Suggestion | None:
    savings = (from_hourly - to_hourly) * ctx.hours_per_month
    if savings.nanos <= 0 or savings.rounded(2) <= 0:
        return None
    return Suggestion(
        kind=kind,
        address=cur.request.address,
        from_=from_ or from_state(ctx, cur, from_hourly),
        to=to,
        monthly_savings=savings,
        rationale=rationale,
    )


def usd(amount: Money) -> str:
    value = amount.rounded(2)
    return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"


def monthly(ctx: Context, hourly: Money) -> str:
    return usd(hourly * ctx.hours_per_month) + "/month"


# --- declared needs (tags/labels) ----------------------------------------------------------------

_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?|[KMGT]B|GiB|TiB|MiB)?\s*$", re.IGNORECASE)
_GIB = {"": 1.0, "g": 1.0, "gi": 1.0, "gib": 1.0, "gb": 1e9 / 2**30, "t": 1024.0, "ti": 1024.0, "tib": 1024.0,
        "tb": 1e12 / 2**30, "m": 1 / 1024, "mi": 1 / 1024, "mib": 1 / 1024, "mb": 1e6 / 2**30,
        "k": 1 / 2**20, "ki": 1 / 2**20, "kb": 1e3 / 2**30}


def parse_gib(text: str) -> float | None:
    """'24Gi' -> 24.0, '64' -> 64.0 (GiB), '512Mi' -> 0.5; None when it is not a size."""
    match = _SIZE_RE.match(text)
    if not match:
        return None
    unit = (match.group(2) or "").lower()
    factor = _GIB.get(unit if unit in _GIB else unit.rstrip("b"))
    return None if factor is None else float(match.group(1)) * factor


def parse_count(text: str) -> float | None:
    text = text.strip()
    try:
        if text.endswith("m"):  # Kubernetes millicores
            return float(text[:-1]) / 1000
        value = float(text)
    except ValueError:
        return None
    return value if value >= 0 and math.isfinite(value) else None


def declared(request: ComputeRequest) -> dict[str, float]:
    """The tollgate.dev/needs-* tags or labels that parse (others are ignored)."""
    found: dict[str, float] = {}
    for key, parse in ((NEEDS_GPUS, parse_count), (NEEDS_GPU_MEMORY, parse_gib), (NEEDS_VCPU, parse_count), (NEEDS_MEMORY, parse_gib)):
        raw = request.tags.get(key)
        value = parse(raw) if raw is not None else None
        if value is not None:
            found[key] = value
    return found


def shape_key(ctx: Context, cur: Current) -> tuple[Any, ...]:
    """Everything a catalog search for `cur` depends on except its name: requests of the same
    shape under the same policies get the same answer (a file of 1,000 similar pods searches once)."""
    request = cur.request
    instances = cur.item.after.instances
    most = max(cur.quantity, instances.max if instances and instances.max else 0)
    policies = tuple(id(p) for p in ctx.guard.in_scope(cur.item))
    return (
        request.provider, cur.region, cur.option, cur.instance_type, cur.quantity, most, request.accelerators,
        request.operating_system, request.pod, request.hours_per_month_override, policies,
    )


def allowed(ctx: Context, cur: Current, spec: InstanceSpec, region: str | None = None, quantity: int | None = None) -> bool:
    """The active policies allow this type (and region) for the request."""
    gpus = gpus_of(spec, cur.request)
    pod = cur.request.pod
    per_unit = pod.gpus if pod is not None and pod.gpus else gpus.count
    instances = cur.item.after.instances
    most = quantity if quantity is not None else max(cur.quantity, instances.max if instances and instances.max else 0)
    if not ctx.guard.type_allowed(cur.item, spec.instance_type, gpus.model, per_unit, spec.current_generation, most):
        return False
    return region is None or ctx.guard.region_allowed(cur.item, spec.provider, region)


def describe_spec(spec: InstanceSpec, request: ComputeRequest) -> str:
    gpus = gpus_of(spec, request)
    text = f"{spec.vcpu:g} vCPU, {spec.memory_gib or 0:g} GiB"
    if gpus.count:
        text += f", {gpus.count:g}× {gpus.model or 'GPU'}"
        if gpus.memory_gib:
            text += f" {gpus.memory_gib:g} GiB"
    return text


def option_word(option: str) -> str:
    return {"on_demand": "on-demand", "spot": "spot", "reserved_1y": "1-year commitment", "reserved_3y": "3-year commitment"}.get(
        option, option
    )
