"""`packing` for a Terraform node group: the GPU pods of the same change that are scheduled on it
need fewer nodes than it has, or fit on a smaller machine with the same GPU.

Linking (`link_pods`, once per run over every request). A pod request is scheduled on a node group
of the change when its node requirements (nodeSelector, required node affinity) hold on the
group's nodes and it tolerates the group's NoSchedule/NoExecute taints. The nodes' labels are the
group's own (`labels`, `node_config.labels`, `node_labels`), those the cloud sets (the group's name
as `eks.amazonaws.com/nodegroup`, `cloud.google.com/gke-nodepool`, `kubernetes.azure.com/agentpool`;
its capacity type) and those of its machine (instance type, GPU, architecture). A link needs:
exactly one node group of the change matches, and no other might (a label value, zone or taint
unknown at plan time makes a match uncertain); the pod names one of that group's own labels or its
name (a pod that only asks for a GPU model or an instance type could land on nodes the change does
not show); and the clouds agree when both are known. A pod without node requirements is never
linked.

Suggestion (`suggest_node_group_packing`). For a node group whose linked pods all ask for GPUs (a
DaemonSet linked to it counts as a per-node reservation): the nodes its pods need, packed as whole
pods per node by GPUs, vCPUs and memory (`pods_per_node`, the arithmetic pinned pods use), against
the nodes it runs at its priced (desired) size. Proposed: the cheaper of fewer nodes of the same
type and the cheapest smaller type with the same GPU model, architecture and purchase option that
the active policies allow, the catalog prices and every linked pod's node requirements still accept.
Nothing is said when the group is full, its node count or a pod count is unknown, or no pod is
linked. Pods linked to a node group get no pod-level packing of their own: their nodes are the
group's, and the group's packing counts every pod on it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Iterable

from tollgate.engine.kubernetes import labels as L
from tollgate.engine.kubernetes.nodes import NodeCandidate, admissible, shortfall, verdict
from tollgate.engine.model import Action, ComputeRequest, NodeGroupNodes, NodeRequirement, PodResources, Provider
from tollgate.engine.money import Money
from tollgate.engine.prices import InstanceSpec, PriceSource
from tollgate.engine.pricing import PricedRequest
from tollgate.engine.report import Suggestion
from tollgate.engine.suggest.common import (
    Context,
    Current,
    allowed,
    cheapest,
    from_state,
    gpus_of,
    make,
    model_matches,
    monthly,
    node_price,
    state,
    with_type,
)

_EPSILON = 1e-9
_WHOLE_GPUS = ("nvidia.com/gpu", "amd.com/gpu")


# --- how many pods a node holds ----------------------------------------------------------------


def pods_per_node(gpus: float, vcpu: float, memory_gib: float | None, pod: PodResources) -> int:
    """Whole pods of this shape one node with these resources holds (GPUs first, then vCPUs and
    memory where the pod asks for them; a node whose memory is unknown is not limited by it)."""
    assert pod.gpus
    limits = [math.floor(gpus / pod.gpus + _EPSILON)]
    if pod.cpu:
        limits.append(math.floor(vcpu / pod.cpu + _EPSILON))
    if pod.memory_gib and memory_gib:
        limits.append(math.floor(memory_gib / pod.memory_gib + _EPSILON))
    return max(0, min(limits))


@dataclass(frozen=True, slots=True)
class _Shape:
    item: PricedRequest
    pod: PodResources
    count: int


def nodes_needed(shapes: list[_Shape], gpus: float, vcpu: float, memory_gib: float | None) -> int | None:
    """Nodes of this size that hold every pod (first fit, largest share of a node first; for one
    pod shape exactly ceil(pods / pods per node)); None when a pod fits on no node."""

    def share(shape: _Shape) -> tuple[float, float, float, float]:
        pod = shape.pod
        parts = [(pod.gpus or 0.0) / gpus if gpus > 0 else math.inf, (pod.cpu or 0.0) / vcpu if vcpu > 0 else math.inf]
        if memory_gib:
            parts.append((pod.memory_gib or 0.0) / memory_gib)
        return (-max(parts), -(pod.gpus or 0.0), -(pod.cpu or 0.0), -(pod.memory_gib or 0.0))

    ordered = sorted(shapes, key=share)
    nodes: list[list[float | None]] = []  # the room left on each node: GPUs, vCPUs, memory

    def place(room: list[float | None], pod: PodResources, count: int) -> int:
        fit = pods_per_node(room[0] or 0.0, room[1] or 0.0, room[2], pod)
        taken = min(fit, count)
        if taken:
            room[0] = (room[0] or 0.0) - taken * (pod.gpus or 0.0)
            room[1] = (room[1] or 0.0) - taken * (pod.cpu or 0.0)
            room[2] = None if room[2] is None else room[2] - taken * (pod.memory_gib or 0.0)
        return taken

    for shape in ordered:
        left = shape.count
        for room in nodes:
            if not left:
                break
            left -= place(room, shape.pod, left)
        if left:
            per_node = pods_per_node(gpus, vcpu, memory_gib, shape.pod)
            if per_node < 1:
                return None
            while left:
                fresh: list[float | None] = [gpus, vcpu, memory_gib]
                left -= place(fresh, shape.pod, left)
                nodes.append(fresh)
    return len(nodes)


# --- linking pods to node groups -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Links:
    """Which pod requests of the run are scheduled on which node group (by request identity:
    both live as long as the run's priced requests)."""

    pods: dict[int, tuple[PricedRequest, ...]] = field(default_factory=dict)  # id(group request) -> pods, input order
    linked: frozenset[int] = frozenset()  # id(pod request)

    def pods_on(self, request: ComputeRequest) -> tuple[PricedRequest, ...]:
        return self.pods.get(id(request), ())

    def is_linked(self, request: ComputeRequest) -> bool:
        return id(request) in self.linked


@dataclass(slots=True)
class NodeGroupContext(Context):
    """The suggestion context with the run's pod-to-node-group links."""

    links: Links = field(default_factory=Links)


_NOT_PINNING = L.SPEC_KEYS | L.CAPACITY_KEYS | L.NEUTRAL_KEYS
_BLOCKING = (":NoSchedule", ":NoExecute")


@dataclass(frozen=True, slots=True)
class _Group:
    request: ComputeRequest
    nodes: NodeGroupNodes
    labels: dict[str, str]
    candidates: tuple[NodeCandidate, ...] | None  # the group's machine(s); None when unknown

    @classmethod
    def of(cls, request: ComputeRequest, nodes: NodeGroupNodes, prices: PriceSource) -> _Group:
        names = list(request.instance_types) or ([request.instance_type] if request.instance_type else [])
        specs = [prices.spec(request.provider.value, name) for name in names]
        candidates: tuple[NodeCandidate, ...] | None = None
        if names and all(spec is not None for spec in specs):
            candidates = tuple(NodeCandidate(spec, request.accelerators) for spec in specs if spec is not None)
        return cls(request, nodes, nodes.label_map, candidates)

    def requirement(self, requirement: NodeRequirement) -> bool | None:
        """Whether every node of the group has what the requirement asks; None when unknown."""
        key = requirement.key
        if key in self.labels:
            return _compare(requirement, self.labels[key])
        if key in self.nodes.unknown_labels or "*" in self.nodes.unknown_labels:
            return None
        owner = L.provider_of_key(key)
        if key.startswith("karpenter.") or (owner is not None and owner is not self.request.provider):
            return _compare(requirement, None)  # only on Karpenter's nodes, or another cloud's
        if key in L.SPEC_KEYS:
            if self.candidates is None:
                return None
            answers = {verdict(requirement, candidate, self.request.provider.value) for candidate in self.candidates}
            return True if answers == {True} else False if answers == {False} else None
        if key in L.REGION_KEYS:
            return None if self.request.region is None else _compare(requirement, self.request.region)
        if key in L.ZONE_KEYS:
            return None if self.request.zone is None else _compare(requirement, self.request.zone)
        if key in L.OS_KEYS:
            return _compare(requirement, self.request.operating_system)
        if key in L.NEUTRAL_KEYS:
            return None  # kubernetes.io/hostname: one node, not knowable here
        return _compare(requirement, None)  # a label the group's nodes do not carry

    def pins(self, requirement: NodeRequirement) -> bool:
        """A requirement that names this group: its name or one of its own labels, present."""
        return (
            requirement.operator in ("In", "Exists")
            and requirement.key in self.labels
            and requirement.key not in _NOT_PINNING
            and self.requirement(requirement) is True
        )

    def places(self, request: ComputeRequest, pod: PodResources) -> bool | None:
        """True: the pod is scheduled here (if nowhere else); False: it cannot be; None: it might be."""
        group = self.request
        if request.provider is not Provider.UNKNOWN and request.provider is not group.provider:
            return False
        if request.zone is None and request.region and group.region and request.region != group.region:
            return False
        terms: list[tuple[NodeRequirement, ...]] = [pod.requirements]
        matched = _all(self.requirement(r) for r in pod.requirements)
        if pod.alternatives:
            answers = [(term, _all(self.requirement(r) for r in term)) for term in pod.alternatives]
            matched = _all([matched, _any(answer for _, answer in answers)])
            terms += [term for term, answer in answers if answer is True]
        if matched is False:
            return False
        if any(t.endswith(_BLOCKING) and not L.tolerates(pod.tolerations, t) for t in self.nodes.taints):
            return False
        if matched is None or (not self.nodes.taints_known and "*" not in pod.tolerations):
            return None
        return True if any(self.pins(r) for term in terms for r in term) else None


def _compare(requirement: NodeRequirement, value: str | None) -> bool:
    operator = requirement.operator
    if operator == "In":
        return value is not None and value in requirement.values
    if operator == "NotIn":
        return value is None or value not in requirement.values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt") and value is not None and requirement.values:
        try:
            actual, limit = int(value), int(requirement.values[0])
        except ValueError:
            return False
        return actual > limit if operator == "Gt" else actual < limit
    return False


def _all(answers: Iterable[bool | None]) -> bool | None:
    result: bool | None = True
    for answer in answers:
        if answer is False:
            return False
        if answer is None:
            result = None
    return result


def _any(answers: Iterable[bool | None]) -> bool | None:
    result: bool | None = False
    for answer in answers:
        if answer is True:
            return True
        if answer is None:
            result = None
    return result


def link_pods(resources: list[PricedRequest], prices: PriceSource) -> Links:
    """The pods of the run scheduled on exactly one node group of the run (see the module docstring)."""
    groups = [
        _Group.of(item.request, item.request.node_group, prices)
        for item in resources
        if item.request.node_group is not None and item.request.action is not Action.DELETE
    ]
    if not groups:
        return Links()
    pods: dict[int, list[PricedRequest]] = {}
    linked: set[int] = set()
    for item in resources:
        request = item.request
        pod = request.pod
        if pod is None or request.action is Action.DELETE or not (pod.requirements or pod.alternatives):
            continue
        answers = [(group, group.places(request, pod)) for group in groups]
        sure = [group for group, answer in answers if answer is True]
        if len(sure) == 1 and all(answer is not None for _, answer in answers):
            pods.setdefault(id(sure[0].request), []).append(item)
            linked.add(id(request))
    return Links({key: tuple(items) for key, items in pods.items()}, frozenset(linked))


# --- the suggestion ------------------------------------------------------------------------------


def _plural(n: float, word: str) -> str:
    return f"{n:g} {word}" + ("" if n == 1 else "s")


def suggest_node_group_packing(ctx: Context, cur: Current) -> Suggestion | None:
    request = cur.request
    if not isinstance(ctx, NodeGroupContext) or request.node_group is None or cur.spec is None:
        return None
    linked = ctx.links.pods_on(request)
    if not linked:
        return None
    spec = cur.spec
    current = gpus_of(spec, request)
    if not current.count or current.kind != "gpu" or current.model is None:
        return None
    shapes: list[_Shape] = []
    reserved = [0.0, 0.0, 0.0]  # per node, for linked DaemonSets: GPUs, vCPUs, memory
    for item in linked:
        pod = item.request.pod
        if pod is None or pod.cpu is None or pod.memory_gib is None or pod.gpus is None or pod.shared_gpu:
            return None  # what a pod asks for is unknown, or its GPUs are shared: say nothing
        if pod.gpus and pod.gpu_resource not in _WHOLE_GPUS:
            return None  # MIG slices, TPUs...: how many fit a node is not a matter of dividing GPUs
        if item.request.kind == "DaemonSet":
            reserved = [reserved[0] + pod.gpus, reserved[1] + pod.cpu, reserved[2] + pod.memory_gib]
            continue
        count = item.request.quantity.desired
        if count is None or not pod.gpus:
            return None  # an unknown number of pods, or pods without GPUs on the group
        if count > 0:
            shapes.append(_Shape(item, pod, count))
    if not shapes:
        return None
    asked = sum(s.count * (s.pod.gpus or 0.0) for s in shapes)
    held = cur.quantity * current.count
    if held - asked - reserved[0] * cur.quantity < 1 - _EPSILON:
        return None  # every GPU of the group is asked for: nothing to pack
    pod_list = [s.pod for s in shapes]

    def needed(candidate: InstanceSpec) -> int | None:
        gpus = gpus_of(candidate, request).count - reserved[0]
        memory = None if candidate.memory_gib is None else candidate.memory_gib - reserved[2]
        return nodes_needed(shapes, gpus, candidate.vcpu - reserved[1], memory)

    options: list[tuple[Money, int, InstanceSpec, int]] = []  # (hourly, rank, type, nodes); same type first on a tie
    now = needed(spec)
    if now is None:
        return None
    if now < cur.quantity and allowed(ctx, cur, spec, quantity=now):
        options.append((cur.unit * now, 0, spec, now))

    counts: dict[str, int | None] = {}

    def count_on(candidate: InstanceSpec) -> int | None:
        if candidate.instance_type not in counts:
            counts[candidate.instance_type] = needed(candidate)
        return counts[candidate.instance_type]

    def on(candidate: InstanceSpec) -> Current:
        return dataclasses.replace(cur, request=with_type(request, candidate))

    def accept(candidate: InstanceSpec) -> bool:
        gpus = gpus_of(candidate, request)
        if candidate.instance_type == cur.instance_type or not gpus.count or gpus.count >= current.count:
            return False
        if not model_matches(gpus.model, current.model or "") or candidate.arch != spec.arch:
            return False
        node = NodeCandidate(candidate, with_type(request, candidate).accelerators)
        if not all(admissible(pod, node, cur.provider) and shortfall(pod, node) is None for pod in pod_list):
            return False  # a pod's node requirements (an instance type, a GPU count...) would not hold
        nodes = count_on(candidate)
        return nodes is not None and allowed(ctx, cur, candidate, quantity=nodes)

    def price(candidate: InstanceSpec) -> Money | None:
        unit = node_price(ctx, on(candidate), candidate.instance_type, cur.option)
        nodes = count_on(candidate)
        return None if unit is None or nodes is None else unit * nodes

    smaller = cheapest(ctx, cur, accept, price)
    if smaller is not None:
        target, hourly = smaller
        nodes = count_on(target)
        assert nodes is not None
        options.append((hourly, 1, target, nodes))
    if not options:
        return None
    to_hourly, _, target, to_nodes = min(options, key=lambda o: (o[0].nanos, o[1]))
    target_gpus = gpus_of(target, request)
    pods_text = " + ".join(
        f"{_plural(s.count, 'pod')} × {_plural(s.pod.gpus or 0, current.model + ' GPU')} "
        f"({s.item.request.address} in {s.item.request.source.file})"
        for s in shapes
    )
    group = request.address + (f" ({request.component})" if request.component else "")
    how = ""
    if len(shapes) == 1:
        how = f", {_plural(pods_per_node_of(target, request, shapes[0].pod, reserved), 'pod')} per node"
    if any(reserved):
        how += ", after the linked DaemonSets' requests on every node"
    what = target.instance_type if target is spec else f"{target.instance_type} ({_plural(target_gpus.count, 'GPU')} each)"
    rationale = (
        f"{pods_text} scheduled on {group}: {cur.quantity} × {cur.instance_type} ({current.count:g} GPUs each) hold "
        f"{held:g} GPUs for {asked:g} requested; {to_nodes} × {what} hold them{how}: "
        f"{monthly(ctx, to_hourly)} instead of {monthly(ctx, cur.hourly)}"
    )
    to = state(ctx, target.instance_type, to_nodes, cur.option, cur.region, cur.provider, to_hourly)
    return make(ctx, "packing", cur, to, cur.hourly, to_hourly, rationale, from_state(ctx, cur))


def pods_per_node_of(spec: InstanceSpec, request: ComputeRequest, pod: PodResources, reserved: list[float]) -> int:
    memory = None if spec.memory_gib is None else spec.memory_gib - reserved[2]
    return pods_per_node(gpus_of(spec, request).count - reserved[0], spec.vcpu - reserved[1], memory, pod)
