"""`packing` for a Terraform node group: the GPU pods of the same change that are scheduled on it
need fewer nodes than it has, or fit on a smaller machine with the same GPU.

Linking (`link_pods`, `Links`) lives in `tollgate.engine.node_group_links`: `run_check` links once,
after pricing, and passes the links here (re-exported for callers that import them from here).

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

import math

import msgspec

from tollgate.engine.kubernetes.nodes import NodeCandidate, admissible, shortfall
from tollgate.engine.model import ComputeRequest, PodResources
from tollgate.engine.money import Money
from tollgate.engine.node_group_links import Links, link_pods
from tollgate.engine.prices import InstanceSpec
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

__all__ = ["Links", "NodeGroupContext", "link_pods", "nodes_needed", "pods_per_node", "suggest_node_group_packing"]

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


class _Shape(msgspec.Struct, frozen=True):
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


# --- the run's pod-to-node-group links -----------------------------------------------------------


class NodeGroupContext(Context):
    """The suggestion context with the run's pod-to-node-group links."""

    links: Links = msgspec.field(default_factory=Links)


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
        return msgspec.structs.replace(cur, request=with_type(request, candidate))

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
