"""One pod spec -> what the pod asks for (PodResources) and what it says about its node.

Per resource, a pod asks for the sum of its containers (requests, else limits) plus restartable
init containers (native sidecars), or the largest ordinary init container (plus the sidecars
started before it), whichever is larger, plus `overhead`: the rule the scheduler uses.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import msgspec

from tollgate.engine.kubernetes import labels as L
from tollgate.engine.kubernetes.quantities import (
    GIB,
    QuantityError,
    parse_quantity,
    placeholder_in,
)
from tollgate.engine.model import NodeRequirement, PurchaseOption

ACCELERATOR_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "google.com/tpu", "aws.amazon.com/neuron", "aws.amazon.com/neurondevice")
_MIG_RE = re.compile(r"^nvidia\.com/mig-(\d+)g\.(\d+)gb(?:\+me)?$")
_A30_MIG_MEMORY = {6, 12, 24}  # A30 profiles (1g.6gb, 2g.12gb, 4g.24gb) are quarters of the GPU
_HAMI_RESOURCES = ("nvidia.com/gpucores", "nvidia.com/gpumem", "nvidia.com/gpumem-percentage")


class PodFacts(msgspec.Struct):
    """What the reader learned from one pod spec; `reader` turns it into PodResources."""

    cpu: Fraction | None = Fraction(0)
    memory_bytes: Fraction | None = Fraction(0)
    gpus: Fraction | None = Fraction(0)
    gpu_resource: str | None = None
    gpu_model: str | None = None
    gpu_model_source: str | None = None
    node_gpus: int | None = None
    shared_gpu: bool = False
    requirements: list[NodeRequirement] = msgspec.field(default_factory=list)
    alternatives: list[tuple[NodeRequirement, ...]] = msgspec.field(default_factory=list)
    preferred: list[NodeRequirement] = msgspec.field(default_factory=list)
    tolerations: list[str] = msgspec.field(default_factory=list)
    containers: list[str] = msgspec.field(default_factory=list)
    instance_types: list[str] = msgspec.field(default_factory=list)
    operating_system: str | None = None
    unknowns: list[str] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)

    def unknown(self, attribute: str, note: str) -> None:
        if attribute not in self.unknowns:
            self.unknowns.append(attribute)
        if note not in self.notes:
            self.notes.append(note)

    @property
    def best_effort(self) -> bool:
        return self.cpu == 0 and self.memory_bytes == 0 and self.gpus == 0


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def read_pod_spec(spec: dict[str, Any], where: str = "") -> PodFacts:
    facts = PodFacts()
    containers = [c for c in sequence(spec.get("containers")) if isinstance(c, dict)]
    facts.containers = [str(c.get("name")) for c in containers if c.get("name") is not None]
    totals: dict[str, Fraction | None] = {}
    for container in containers:
        _add(totals, _container_requests(container, facts))
    sidecars: dict[str, Fraction | None] = {}
    init_peak: dict[str, Fraction | None] = {}
    for container in sequence(spec.get("initContainers")):
        if not isinstance(container, dict):
            continue
        asks = _container_requests(container, facts)
        if container.get("restartPolicy") == "Always":  # a native sidecar runs beside the containers
            _add(sidecars, asks)
            continue
        with_sidecars = dict(asks)
        _add(with_sidecars, sidecars)
        _max(init_peak, with_sidecars)
    _add(totals, sidecars)
    _max(totals, init_peak)
    overhead = mapping(spec.get("overhead"))
    if overhead:
        _add(totals, _resources(overhead, facts, "overhead"))
    facts.cpu = totals.get("cpu", Fraction(0))
    memory = totals.get("memory", Fraction(0))
    facts.memory_bytes = memory
    _accelerators(totals, facts)
    _node_constraints(spec, facts)
    return facts


def _container_requests(container: dict[str, Any], facts: PodFacts) -> dict[str, Fraction | None]:
    resources = mapping(container.get("resources"))
    requests = mapping(resources.get("requests"))
    limits = mapping(resources.get("limits"))
    # A resource with only a limit is requested at its limit (the API server defaults it so).
    merged = {**limits, **requests}
    name = container.get("name") or "container"
    return _resources(merged, facts, f"container {name}")


def _resources(values: dict[str, Any], facts: PodFacts, where: str) -> dict[str, Fraction | None]:
    asks: dict[str, Fraction | None] = {}
    for key, raw in values.items():
        resource = str(key)
        if resource in _HAMI_RESOURCES:
            facts.shared_gpu = True
            continue
        if not (resource in ("cpu", "memory") or resource in ACCELERATOR_RESOURCES or _MIG_RE.match(resource)):
            continue
        attribute = "cpu" if resource == "cpu" else "memory" if resource == "memory" else "gpus"
        placeholder = placeholder_in(raw)
        if placeholder is not None:
            facts.unknown(attribute, f"{where}: {resource} is the unresolved placeholder {placeholder}")
            asks[resource] = None
            continue
        try:
            asks[resource] = parse_quantity(raw)
        except QuantityError as error:
            facts.unknown(attribute, f"{where}: {resource}: {error}")
            asks[resource] = None
    return asks


def _add(into: dict[str, Fraction | None], more: dict[str, Fraction | None]) -> None:
    for key, value in more.items():
        current = into.get(key, Fraction(0))
        into[key] = None if current is None or value is None else current + value


def _max(into: dict[str, Fraction | None], other: dict[str, Fraction | None]) -> None:
    for key, value in other.items():
        current = into.get(key, Fraction(0))
        into[key] = None if current is None or value is None else max(current, value)


def _accelerators(totals: dict[str, Fraction | None], facts: PodFacts) -> None:
    gpus: Fraction | None = Fraction(0)
    names: list[str] = []
    for resource, amount in totals.items():
        if resource in ("cpu", "memory"):
            continue
        mig = _MIG_RE.match(resource)
        fraction = Fraction(1)
        if mig:
            slices, memory_gb = int(mig.group(1)), int(mig.group(2))
            fraction = Fraction(slices, 4 if memory_gb in _A30_MIG_MEMORY and slices in (1, 2, 4) else 7)
            facts.notes.append(f"{resource} is a MIG slice: {fraction} of one GPU")
        if amount is None or gpus is None:
            gpus = None
        else:
            gpus += amount * fraction
        if amount != 0:
            names.append(resource)
    facts.gpus = gpus
    if names:
        facts.gpu_resource = names[0]
        if len(names) > 1:
            facts.notes.append(f"several accelerator resources ({', '.join(names)}) are counted together")


def _node_constraints(spec: dict[str, Any], facts: PodFacts) -> None:
    selector = mapping(spec.get("nodeSelector"))
    for key, value in selector.items():
        _requirement(facts, facts.requirements, str(key), "In", [value], "nodeSelector")
    affinity = mapping(mapping(spec.get("affinity")).get("nodeAffinity"))
    required = mapping(affinity.get("requiredDuringSchedulingIgnoredDuringExecution"))
    terms = [t for t in sequence(required.get("nodeSelectorTerms")) if isinstance(t, dict)]
    parsed_terms: list[tuple[NodeRequirement, ...]] = []
    for term in terms:
        parsed: list[NodeRequirement] = []
        for expression in sequence(term.get("matchExpressions")):
            if isinstance(expression, dict) and expression.get("key") is not None:
                _requirement(
                    facts, parsed, str(expression["key"]), str(expression.get("operator", "In")),
                    sequence(expression.get("values")), "nodeAffinity",
                )
        parsed_terms.append(tuple(parsed))
    if len(parsed_terms) == 1:
        facts.requirements.extend(parsed_terms[0])
    elif parsed_terms:
        facts.alternatives.extend(parsed_terms)
    for preference in sequence(affinity.get("preferredDuringSchedulingIgnoredDuringExecution")):
        term = mapping(mapping(preference).get("preference"))
        for expression in sequence(term.get("matchExpressions")):
            if isinstance(expression, dict) and expression.get("key") is not None:
                _requirement(
                    facts, facts.preferred, str(expression["key"]), str(expression.get("operator", "In")),
                    sequence(expression.get("values")), "preferred nodeAffinity",
                )
    for toleration in sequence(spec.get("tolerations")):
        if isinstance(toleration, dict):
            facts.tolerations.append(_toleration(toleration))
    _hints(facts)


def _requirement(
    facts: PodFacts, into: list[NodeRequirement], key: str, operator: str, values: list[Any], source: str
) -> None:
    kept: list[str] = []
    for value in values:
        text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        placeholder = placeholder_in(text)
        if placeholder is None:
            kept.append(text)
            continue
        attribute = (
            "gpu_model" if key in L.GPU_NAME_KEYS
            else "instance_type" if key in L.INSTANCE_TYPE_KEYS
            else "purchase_option" if key in L.CAPACITY_KEYS
            else "region" if key in L.REGION_KEYS or key in L.ZONE_KEYS
            else f"node label {key}"
        )
        facts.unknown(attribute, f"{source} {key} is the unresolved placeholder {placeholder}")
    if values and not kept:
        return  # every value is a placeholder: the requirement is unknown, not "no value"
    into.append(NodeRequirement(key=key, operator=operator, values=tuple(kept), source=source))


def _toleration(toleration: dict[str, Any]) -> str:
    key = str(toleration.get("key") or "")
    operator = str(toleration.get("operator") or "Equal")
    effect = str(toleration.get("effect") or "")
    if not key:
        return "*" if operator == "Exists" else ""
    text = key if operator == "Exists" else f"{key}={toleration.get('value', '')}"
    return f"{text}:{effect}" if effect else text


def _hints(facts: PodFacts) -> None:
    """GPU model, node GPU count, instance types and OS the required labels name."""
    for requirement in facts.requirements:
        if requirement.operator != "In" or not requirement.values:
            continue
        key, value = requirement.key, requirement.values[0]
        if key in L.GPU_NAME_KEYS and facts.gpu_model is None:
            model = L.normalize_gpu_model(value)
            if model is not None:
                facts.gpu_model = model
                facts.gpu_model_source = f"{requirement.source} {key}={value}"
            if key == "nvidia.com/gpu.product" and value.upper().endswith("-SHARED"):
                facts.shared_gpu = True
        elif key in L.TPU_KEYS and facts.gpu_model is None:
            family = L.GKE_TPU_FAMILIES.get(value)
            if family is not None:
                facts.gpu_model = L.tpu_model(family)
                facts.gpu_model_source = f"{requirement.source} {key}={value}"
        elif key in L.GPU_COUNT_KEYS and value.isdigit():
            facts.node_gpus = int(value)
        elif key in L.INSTANCE_TYPE_KEYS:
            facts.instance_types.extend(v for v in requirement.values if v not in facts.instance_types)
        elif key in L.OS_KEYS:
            facts.operating_system = value.lower()


def purchase_option(facts: PodFacts) -> tuple[PurchaseOption, str, bool]:
    """(option, reason, decided by the node pool): required capacity labels, then a spot
    preference or a tolerated spot taint, else on-demand unless the pod's node pool is spot."""
    for requirement in facts.requirements:
        if requirement.key not in L.CAPACITY_KEYS:
            continue
        options = {L.capacity_of(requirement.key, v) for v in requirement.values} - {None}
        if requirement.operator == "In" and len(options) == 1:
            option = next(iter(options))
            assert option is not None
            return option, f"{requirement.source} {requirement.key}={'|'.join(requirement.values)}", False
        if requirement.operator == "NotIn" and options == {PurchaseOption.SPOT}:
            return PurchaseOption.ON_DEMAND, f"{requirement.source} {requirement.key} NotIn spot", False
    for requirement in facts.preferred:
        if requirement.key in L.CAPACITY_KEYS and requirement.operator == "In":
            if any(L.capacity_of(requirement.key, v) is PurchaseOption.SPOT for v in requirement.values):
                return PurchaseOption.SPOT, f"prefers spot ({requirement.source} {requirement.key}={'|'.join(requirement.values)})", False
    for key, value in L.SPOT_TAINTS.items():
        for effect in ("NoSchedule", "NoExecute", "PreferNoSchedule", ""):
            taint = f"{key}={value}:{effect}" if effect else f"{key}={value}"
            if facts.tolerations and "*" not in facts.tolerations and L.tolerates(tuple(facts.tolerations), taint):
                return PurchaseOption.SPOT, f"tolerates the spot taint {key}={value}", False
    return PurchaseOption.ON_DEMAND, "no spot selector, preference or toleration: on-demand", True


def memory_gib(memory_bytes: Fraction | None) -> float | None:
    return None if memory_bytes is None else float(memory_bytes / GIB)
