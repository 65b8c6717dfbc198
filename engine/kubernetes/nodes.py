"""Which node a pod lands on, and its share of that node (used by `tollgate.engine.pricing`).

The node is chosen, in order, from:
1. instance types the pod's node selectors/affinity name (node.kubernetes.io/instance-type,
   karpenter.azure.com/sku-name, KAITO's instanceType): the cheapest of them that fits;
2. the cluster profile's node pools (tollgate.yaml `cluster.node_pools`) whose labels match the
   pod's custom node labels and whose taints it tolerates (else, saying so, the first pool that
   fits): the first instance type of the first such pool that meets the pod's node requirements
   and fits it. A pool only qualifies when one of its types has what the labels ask for (GPU
   model, family), so a pool is preferred to a catalog guess only when it really has that GPU;
3. the catalog, when the labels narrow the machine (GPU model, TPU, family, category): the
   cheapest type there that meets every requirement and fits the pod (said so in the notes);
4. otherwise the pod is unpriced, with the reason.

A pod's share is gpus/node GPUs for accelerator pods, else the larger of cpu/vCPUs and
memory/memory. A pod that asks for more than a candidate node has does not fit it.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Iterable

import msgspec

from tollgate.engine.kubernetes import labels as L
from tollgate.engine.model import (
    Accelerator,
    ClusterNodePool,
    ComputeRequest,
    NodeRequirement,
    PodResources,
    PurchaseOption,
)
from tollgate.engine.prices import InstanceSpec, PriceMiss, PriceQuote, PriceSource


class NodeCandidate(msgspec.Struct, frozen=True):
    """A machine type as a node, with GPUs attached separately where the cloud does that (GCP N1)."""

    spec: InstanceSpec
    accelerators: tuple[Accelerator, ...] = ()

    @property
    def instance_type(self) -> str:
        return self.spec.instance_type

    @property
    def gpus(self) -> float:
        if self.spec.gpu_count:
            return self.spec.gpu_count
        if self.accelerators:
            return float(sum(a.count for a in self.accelerators))
        if self.spec.family in L.TPU_FAMILIES:
            return float(L.tpu_chips(self.spec.instance_type) or 0)
        return 0.0

    @property
    def gpu_model(self) -> str | None:
        if self.spec.gpu_model:
            return self.spec.gpu_model
        if self.accelerators:
            name = self.accelerators[0].type
            return L.GKE_ACCELERATORS.get(name, name)
        if self.spec.family in L.TPU_FAMILIES:
            return L.tpu_model(self.spec.family)
        return None

    @property
    def gpu_memory_gib(self) -> float | None:
        return self.spec.gpu_memory_gib

    def describe(self) -> str:
        text = f"{self.instance_type} ({self.spec.vcpu:g} vCPUs, {_gib(self.spec.memory_gib)} GiB"
        if self.gpus:
            text += f", {self.gpus:g} × {self.gpu_model or 'GPU'}"
        return text + ")"

    def label(self) -> str:
        if self.accelerators:
            return f"{self.instance_type} + " + " + ".join(f"{a.count} × {a.type}" for a in self.accelerators)
        return self.instance_type


class NodeChoice(msgspec.Struct):
    candidate: NodeCandidate
    option: PurchaseOption
    purchase_reason: str | None
    notes: list[str] = msgspec.field(default_factory=list)


MachinePrice = Callable[[NodeCandidate, str], "PriceQuote | PriceMiss"]


def _gib(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) or value >= 1 else f"{value:.3g}"


# --- requirements against a candidate ------------------------------------------------------------


def _family_value(key: str, spec: InstanceSpec, provider: str) -> str | None:
    if key == "karpenter.azure.com/sku-family":
        size = re.sub(r"^(standard|basic)_", "", spec.instance_type, flags=re.IGNORECASE)
        match = re.match(r"[A-Za-z]+", size)
        return match.group(0).upper() if match else None
    return spec.family


def _category(spec: InstanceSpec) -> str | None:
    match = re.match(r"[a-z]+", spec.family.lower())
    return match.group(0) if match else None


def _generation(key: str, spec: InstanceSpec) -> str | None:
    if key == "karpenter.azure.com/sku-version":
        match = re.search(r"_v(\d+)$", spec.instance_type, flags=re.IGNORECASE)
        return match.group(1) if match else "1"
    match = re.match(r"[a-z]+(\d+)", spec.family.lower())
    return match.group(1) if match else None


_ATTRIBUTES: dict[tuple[str, str, tuple[Accelerator, ...], str], tuple[bool, str | None]] = {}


def _attribute(key: str, candidate: NodeCandidate, provider: str) -> tuple[bool, str | None]:
    """Memoised by type name, not by candidate: NodePool requirements ask the same keys of every
    catalog type, and hashing a whole spec per question costs more than the answer."""
    memo_key = (key, candidate.spec.instance_type, candidate.accelerators, provider)
    found = _ATTRIBUTES.get(memo_key)
    if found is None:
        found = _ATTRIBUTES[memo_key] = _compute_attribute(key, candidate, provider)
    return found


def _compute_attribute(key: str, candidate: NodeCandidate, provider: str) -> tuple[bool, str | None]:
    """(is this key about the machine, its value on this candidate; None = the node has no such label)."""
    spec = candidate.spec
    if key in L.INSTANCE_TYPE_KEYS:
        return True, spec.instance_type.lower()
    if key in L.FAMILY_KEYS:
        value = _family_value(key, spec, provider)
        return True, value.lower() if value else None
    if key in L.CATEGORY_KEYS:
        return True, _category(spec)
    if key in L.GENERATION_KEYS:
        return True, _generation(key, spec)
    if key in L.SIZE_KEYS:
        return True, spec.instance_type.split(".", 1)[1].lower() if "." in spec.instance_type else None
    if key in L.CPU_KEYS:
        return True, f"{spec.vcpu:g}"
    if key in L.MEMORY_MIB_KEYS:
        return True, None if spec.memory_gib is None else str(round(spec.memory_gib * 1024))
    if key in L.GPU_NAME_KEYS or key in L.TPU_KEYS:
        return True, candidate.gpu_model
    if key in L.GPU_COUNT_KEYS:
        return True, f"{candidate.gpus:g}" if candidate.gpus else None
    if key in L.GPU_MEMORY_MIB_KEYS:
        memory = candidate.gpu_memory_gib
        return True, None if memory is None or not candidate.gpus else str(round(memory * 1024))
    if key in L.GPU_MANUFACTURER_KEYS:
        return True, L.gpu_vendor(candidate.gpu_model) if candidate.gpus else None
    if key in L.ARCH_KEYS:
        return True, {"x86_64": "amd64", "arm64": "arm64"}.get(spec.arch, spec.arch)
    return False, None


def _value_matches(key: str, wanted: str, actual: str) -> bool:
    if key in L.GPU_NAME_KEYS:
        model = L.normalize_gpu_model(wanted)
        return model is not None and L.gpu_model_matches(actual, model)
    if key in L.TPU_KEYS:
        family = L.GKE_TPU_FAMILIES.get(wanted)
        return family is not None and actual == L.tpu_model(family)
    if key in L.GPU_MANUFACTURER_KEYS:
        return wanted.lower() == actual
    return wanted.lower() == actual.lower()


def verdict(requirement: NodeRequirement, candidate: NodeCandidate, provider: str) -> bool | None:
    """Whether a candidate node meets a requirement; None when the key is not about the machine."""
    about_machine, actual = _attribute(requirement.key, candidate, provider)
    if not about_machine:
        return None
    operator = requirement.operator
    if operator == "Exists":
        return actual is not None
    if operator == "DoesNotExist":
        return actual is None
    if operator in ("Gt", "Lt"):
        try:
            limit, value = float(requirement.values[0]), float(actual or "nan")
        except (ValueError, IndexError):
            return False
        return value > limit if operator == "Gt" else value < limit
    found = actual is not None and any(_value_matches(requirement.key, v, actual) for v in requirement.values)
    return found if operator == "In" else not found


def meets(requirements: Iterable[NodeRequirement], candidate: NodeCandidate, provider: str) -> bool:
    return all(verdict(r, candidate, provider) is not False for r in requirements)


def admissible(pod: PodResources, candidate: NodeCandidate, provider: str) -> bool:
    if not meets(pod.requirements, candidate, provider):
        return False
    return not pod.alternatives or any(meets(term, candidate, provider) for term in pod.alternatives)


def narrows_machine(requirements: Iterable[NodeRequirement]) -> bool:
    return any(r.key in L.TYPE_NARROWING_KEYS and r.operator in ("In", "Exists") for r in requirements)


# --- fit and share -----------------------------------------------------------------------------


def pod_vendor(pod: PodResources) -> str | None:
    return L.vendor_of_resource(pod.gpu_resource) if pod.gpu_resource else None


def shortfall(pod: PodResources, candidate: NodeCandidate) -> str | None:
    """Why the pod does not fit on one node of this type, or None when it fits."""
    problems: list[str] = []
    gpus = pod.gpus or 0
    if gpus:
        vendor = pod_vendor(pod)
        node_vendor = L.gpu_vendor(candidate.gpu_model) if candidate.gpus else None
        if not candidate.gpus:
            problems.append(f"{_number(gpus)} {pod.gpu_resource} but it has none")
        elif vendor not in (None, "other") and node_vendor is not None and vendor != node_vendor:
            problems.append(f"{pod.gpu_resource} but it has {candidate.gpu_model}")
        elif gpus > candidate.gpus + 1e-9:
            problems.append(f"{_number(gpus)} {pod.gpu_resource} but it has {candidate.gpus:g}")
    if pod.cpu and pod.cpu > candidate.spec.vcpu + 1e-9:
        problems.append(f"{_number(pod.cpu)} CPUs but it has {candidate.spec.vcpu:g} vCPUs")
    memory = candidate.spec.memory_gib
    if pod.memory_gib and memory is not None and pod.memory_gib > memory + 1e-9:
        problems.append(f"{pod.memory_gib:.4g} GiB of memory but it has {memory:g} GiB")
    return "; ".join(problems) or None


@lru_cache(maxsize=4096)  # pricing asks once per pod for the price and once for the note
def pod_share(pod: PodResources, candidate: NodeCandidate) -> tuple[Fraction, str] | str:
    """(the pod's share of one node, how it was computed), or why it cannot be computed."""
    problem = shortfall(pod, candidate)
    if problem is not None:
        return f"fits no node: the pod needs {problem} ({candidate.instance_type})"
    gpus = pod.gpus or 0
    if gpus:
        share = Fraction(repr(gpus)) / Fraction(repr(candidate.gpus))
        return share, f"GPU share: {_number(gpus)} of {candidate.gpus:g} {candidate.gpu_model or 'GPU'}s"
    vcpu = Fraction(repr(candidate.spec.vcpu))
    cpu_share = Fraction(repr(pod.cpu or 0.0)) / vcpu if vcpu else Fraction(0)
    memory = candidate.spec.memory_gib
    memory_share = Fraction(repr(pod.memory_gib or 0.0)) / Fraction(repr(memory)) if memory else Fraction(0)
    if memory_share > cpu_share:
        return memory_share, f"memory share: {pod.memory_gib:.4g} of {memory:g} GiB"
    return cpu_share, f"CPU share: {_number(pod.cpu or 0)} of {candidate.spec.vcpu:g} vCPUs"


def share_estimate(pod: PodResources, candidate: NodeCandidate) -> float | None:
    """`pod_share` in floating point, or None where it has none: for ranking hundreds of catalog
    types cheaply before the exact share is computed for the few that can be the cheapest."""
    if shortfall(pod, candidate) is not None:
        return None
    if pod.gpus:
        return pod.gpus / candidate.gpus
    vcpu, memory = candidate.spec.vcpu, candidate.spec.memory_gib
    cpu_share = (pod.cpu or 0.0) / vcpu if vcpu else 0.0
    memory_share = (pod.memory_gib or 0.0) / memory if memory else 0.0
    return max(cpu_share, memory_share)


# --- candidates ------------------------------------------------------------------------------------


def expand(spec: InstanceSpec, pod: PodResources | None, provider: str) -> list[NodeCandidate]:
    """A spec as node candidates. A GCP N1 machine carries the attachable GPU the pod's labels ask
    for (T4, V100, P100, P4, K80), as many as the pod needs (the smallest count GCP allows)."""
    model = pod.gpu_model if pod else None
    attach = L.GCP_ATTACHED_GPUS.get(model or "") if provider == "gcp" else None
    if attach and spec.family == "n1" and not spec.gpu_count and pod is not None:
        accelerator_type, allowed = attach
        wanted = pod.node_gpus or max(1, math.ceil(pod.gpus or 0))
        count = next((n for n in allowed if n >= wanted), None)
        if count is None:
            return []
        return [NodeCandidate(spec, (Accelerator(accelerator_type, count),))]
    return [NodeCandidate(spec)]


def candidate_for(spec: InstanceSpec, accelerators: tuple[Accelerator, ...]) -> NodeCandidate:
    return NodeCandidate(spec, accelerators)


def _cheapest(
    candidates: list[NodeCandidate], price: MachinePrice, option: str
) -> tuple[NodeCandidate, int]:
    """The candidate with the lowest node price, and how many candidates had no price."""
    priced: list[tuple[int, int, NodeCandidate]] = []
    for index, candidate in enumerate(candidates):
        quote = price(candidate, option)
        if isinstance(quote, PriceQuote):
            priced.append((quote.unit_hourly.nanos, index, candidate))
    if not priced:
        return candidates[0], len(candidates)
    return min(priced)[2], len(candidates) - len(priced)


def _option_word(option: PurchaseOption) -> str:
    return "spot" if option is PurchaseOption.SPOT else "on_demand"


def _needs(pod: PodResources) -> str:
    parts = []
    if pod.gpus:
        parts.append(f"{_number(pod.gpus)} {pod.gpu_resource}")
    if pod.cpu:
        parts.append(f"{_number(pod.cpu)} CPUs")
    if pod.memory_gib:
        parts.append(f"{pod.memory_gib:.4g} GiB")
    return ", ".join(parts) or "nothing"


def _fits_none(pod: PodResources, candidates: list[NodeCandidate], where: str) -> str:
    largest = max(candidates, key=lambda c: (c.gpus, c.spec.vcpu, c.spec.memory_gib or 0))
    return f"fits no node: the pod needs {_needs(pod)}; the largest {where} is {largest.describe()}"


def _describe_requirements(requirements: Iterable[NodeRequirement]) -> str:
    shown = []
    for r in requirements:
        if r.operator == "In":
            shown.append(f"{r.key}={'|'.join(r.values)}")
        elif r.operator in ("Gt", "Lt"):
            shown.append(f"{r.key} {'>' if r.operator == 'Gt' else '<'} {r.values[0] if r.values else '?'}")
        else:
            shown.append(f"{r.key} {r.operator} {'|'.join(r.values)}".strip())
    return ", ".join(shown)


def _is_custom(key: str) -> bool:
    return not (key in L.SPEC_KEYS or key in L.CAPACITY_KEYS or key in L.NEUTRAL_KEYS)


def _pool_has_label(pool: ClusterNodePool, requirement: NodeRequirement) -> bool:
    labels = dict(pool.labels)
    value = labels.get(requirement.key)
    if requirement.operator == "Exists":
        return value is not None
    if requirement.operator == "DoesNotExist":
        return value is None
    if requirement.operator == "NotIn":
        return value is None or value not in requirement.values
    if requirement.operator == "In":
        return value is not None and value in requirement.values
    return value is not None


def _a(provider: str) -> str:
    return f"an {provider}" if provider[:1] in "aeiou" else f"a {provider}"


def choose_node(
    request: ComputeRequest, prices: PriceSource, region: str, price: MachinePrice
) -> NodeChoice | str:
    """The node the request's pod lands on, or why none can be chosen (see the module docstring)."""
    pod = request.pod
    assert pod is not None
    provider = request.provider.value
    option = request.purchase_option
    reason = request.purchase_reason

    # 1. Instance types the labels name.
    explicit = list(request.instance_types) or ([request.instance_type] if request.instance_type else [])
    if explicit:
        candidates: list[NodeCandidate] = []
        missing: list[str] = []
        for name in explicit:
            spec = prices.spec(provider, name)
            if spec is None:
                missing.append(name)
            else:
                candidates.extend(expand(spec, pod, provider))
        if not candidates:
            noun = "machine type" if provider == "gcp" else "instance type"
            return f"'{missing[0]}' is not {_a(provider)} {noun} in the price catalog"
        fitting = [c for c in candidates if shortfall(pod, c) is None]
        if not fitting:
            if len(candidates) == 1:
                return f"fits no node: the pod needs {shortfall(pod, candidates[0])} ({candidates[0].instance_type})"
            return _fits_none(pod, candidates, "named type")
        chosen, _ = _cheapest(fitting, price, _option_word(option)) if len(fitting) > 1 else (fitting[0], 0)
        notes = [f"node type {chosen.label()} from the pod's node labels"]
        if len(fitting) > 1:
            notes[0] += f": the cheapest of {len(fitting)} named types that fit"
        return NodeChoice(chosen, option, reason, notes)

    # 2. The cluster profile's node pools.
    pool_problem: str | None = None
    if pod.node_pools:
        chosen_pool = _from_pools(pod, request, prices, provider)
        if isinstance(chosen_pool, NodeChoice):
            return chosen_pool
        pool_problem = chosen_pool

    # 3. The catalog, when the labels narrow the machine.
    narrowing = narrows_machine(pod.requirements) or any(narrows_machine(t) for t in pod.alternatives)
    if narrowing or pod.gpu_model:
        types_for = getattr(prices, "types_for", None)
        if not callable(types_for):
            return "the price source cannot list instance types, so the node type cannot be inferred from the node labels"
        specs: tuple[InstanceSpec, ...] = types_for(provider)
        matching = [c for s in specs for c in expand(s, pod, provider) if admissible(pod, c, provider)]
        wanted = _describe_requirements(r for r in pod.requirements if r.key in L.SPEC_KEYS) or (pod.gpu_model or "")
        if not matching:
            return f"no {provider} instance type in the price catalog matches the node labels ({wanted})"
        fitting = [c for c in matching if shortfall(pod, c) is None]
        if not fitting:
            return _fits_none(pod, matching, f"{provider} type matching {wanted}")
        chosen, unpriced = _cheapest(fitting, price, _option_word(option))
        if pod.gpu_model and not any(r.key in (L.FAMILY_KEYS | L.CATEGORY_KEYS | L.INSTANCE_TYPE_KEYS) for r in pod.requirements):
            note = (
                f"only the GPU model is known ({pod.gpu_model}, from {pod.gpu_model_source}): priced on {chosen.label()}, "
                f"the cheapest {provider} machine type with that {'TPU' if pod.gpu_resource == 'google.com/tpu' else 'GPU'} "
                f"that fits the pod in {region} ({len(fitting)} candidates)"
            )
        else:
            note = (
                f"node type {chosen.label()}: the cheapest of {len(fitting)} {provider} types matching {wanted} "
                f"that fit the pod in {region}"
            )
        if unpriced:
            note += f"; {unpriced} of them have no {_option_word(option).replace('_', '-')} price there"
        notes = [note]
        if pool_problem:
            notes.append(pool_problem)
        return NodeChoice(chosen, option, reason, notes)

    if pool_problem:
        return pool_problem
    placeholders = [n for n in request.notes if "unresolved placeholder" in n and any(k in n for k in L.GPU_NAME_KEYS | L.INSTANCE_TYPE_KEYS)]
    if placeholders:
        return f"no node type: the node labels that would name it are unresolved ({'; '.join(placeholders)})"
    custom = [r for r in pod.requirements if _is_custom(r.key)]
    labels = f" ({_describe_requirements(custom)})" if custom else ""
    if pod.gpus:
        return (
            f"no node type: the pod needs {_number(pod.gpus)} {pod.gpu_resource} but its node labels{labels} name no "
            "instance type or GPU model, and there is no cluster profile node pool (`cluster.node_pools` in tollgate.yaml)"
        )
    return (
        f"no node type: the pod's node labels{labels} name no instance type, and there is no cluster profile "
        "node pool (`cluster.node_pools` in tollgate.yaml)"
    )


def _from_pools(pod: PodResources, request: ComputeRequest, prices: PriceSource, provider: str) -> NodeChoice | str:
    custom = [r for r in pod.requirements if _is_custom(r.key)]
    matched = [p for p in pod.node_pools if all(_pool_has_label(p, r) for r in custom)]
    fallback = bool(custom) and not matched
    considered = list(pod.node_pools) if fallback else matched
    seen: list[NodeCandidate] = []
    skipped: list[str] = []
    for pool in considered:
        untolerated = [t for t in pool.taints if not L.tolerates(pod.tolerations, t)]
        if untolerated:
            skipped.append(f"{pool.name} (taint {untolerated[0]} not tolerated)")
            continue
        if not pod.capacity_from_pool and pool.purchase_option is not request.purchase_option:
            skipped.append(f"{pool.name} ({pool.purchase_option.value.replace('_', '-')})")
            continue
        for name in pool.instance_types:
            spec = prices.spec(provider, name)
            if spec is None:
                skipped.append(f"{pool.name} ({name} is not in the price catalog)")
                continue
            for candidate in expand(spec, pod, provider):
                if not admissible(pod, candidate, provider):
                    continue
                seen.append(candidate)
                if shortfall(pod, candidate) is not None:
                    continue
                option = pool.purchase_option if pod.capacity_from_pool else request.purchase_option
                reason = f"cluster profile node pool {pool.name} is {pool.purchase_option.value.replace('_', '-')}" if pod.capacity_from_pool else request.purchase_reason
                note = f"node pool {pool.name} of the cluster profile: {candidate.label()}"
                if fallback:
                    note += f" (no pool carries the pod's node labels {_describe_requirements(custom)}: the first pool that fits)"
                return NodeChoice(candidate, option, reason, [note])
    if seen:
        return _fits_none(pod, seen, "cluster profile node type")
    why = f"; skipped: {', '.join(skipped)}" if skipped else ""
    return f"no cluster profile node pool fits the pod (it needs {_needs(pod)}){why}"


def _selectivity(requirement: NodeRequirement) -> int:
    """Lower first: set membership on type/family/category keys rules out most of a catalog."""
    if requirement.operator == "In":
        return 0 if requirement.key in L.INSTANCE_TYPE_KEYS or requirement.key in L.FAMILY_KEYS or requirement.key in L.CATEGORY_KEYS else 1
    if requirement.operator in ("Gt", "Lt"):
        return 2
    if requirement.operator == "NotIn":
        return 3
    return 4


# Keys whose values compare as plain case-insensitive strings, so one pass over the catalog can
# file every type under its value (GPU names and vendors compare by model family instead).
_INDEXABLE_KEYS = L.INSTANCE_TYPE_KEYS | L.FAMILY_KEYS | L.CATEGORY_KEYS | L.GENERATION_KEYS | L.SIZE_KEYS | L.CPU_KEYS | L.ARCH_KEYS
_INDEXES: dict[tuple[str, str], tuple[tuple[InstanceSpec, ...], dict[str, list[int]]]] = {}


def _index(key: str, specs: tuple[InstanceSpec, ...], provider: str) -> dict[str, list[int]]:
    """Positions in `specs` by the (lowercased) value of `key`: built once per key for a catalog."""
    found = _INDEXES.get((key, provider))
    if found is not None and found[0] is specs:
        return found[1]
    index: dict[str, list[int]] = {}
    for position, spec in enumerate(specs):
        _, value = _attribute(key, NodeCandidate(spec), provider)
        if value is not None:
            index.setdefault(value.lower(), []).append(position)
    _INDEXES[(key, provider)] = (specs, index)
    return index


def _meeting(requirements: tuple[NodeRequirement, ...], specs: tuple[InstanceSpec, ...], provider: str) -> list[NodeCandidate]:
    """The catalog types meeting every requirement, in catalog order. A NodePool asks its questions
    of the whole catalog, so a leading `In` on a plain-valued key (family, category, type) is
    answered from an index, and only the types it leaves are asked the rest, most selective first."""
    rest = requirements
    positions: list[int] | None = None
    if requirements and requirements[0].operator == "In" and requirements[0].key in _INDEXABLE_KEYS:
        first, rest = requirements[0], requirements[1:]
        index = _index(first.key, specs, provider)
        positions = sorted({p for value in first.values for p in index.get(value.lower(), ())})
    candidates = map(NodeCandidate, specs) if positions is None else (NodeCandidate(specs[p]) for p in positions)
    return [candidate for candidate in candidates if meets(rest, candidate, provider)]


def resolve_pool_types(
    requirements: tuple[NodeRequirement, ...], prices: PriceSource, provider: str, price: MachinePrice, option: PurchaseOption
) -> list[str] | str:
    """Every catalog type meeting a Karpenter NodePool's requirements, cheapest node first (those
    without a price in the region last); or why there are none."""
    types_for = getattr(prices, "types_for", None)
    if not callable(types_for):
        return "the price source cannot list instance types, so the NodePool's types cannot be resolved"
    specs: tuple[InstanceSpec, ...] = types_for(provider)
    matching = _meeting(tuple(sorted(requirements, key=_selectivity)), specs, provider)
    if not matching:
        wanted = _describe_requirements(r for r in requirements if r.key in L.SPEC_KEYS)
        return f"no {provider} instance type in the price catalog meets the NodePool's requirements ({wanted})"
    word = _option_word(option)
    priced: list[tuple[int, int, str]] = []
    for index, candidate in enumerate(matching):
        quote = price(candidate, word)
        if isinstance(quote, PriceQuote):
            priced.append((quote.unit_hourly.nanos, index, candidate.instance_type))
    if not priced:
        # None can be priced here: keep them all, so the price miss is reported for the first.
        return [c.instance_type for c in matching]
    # Types without a price for this purchase option in the region cannot be launched as such.
    return [name for _, _, name in sorted(priced)]
