"""Which pod requests of a check run on a Terraform node group of the same check, and what that
does to their price. Pure logic; `run_check` links once, after pricing, and both the report (a
linked pod's `runs_on`) and the node-group `packing` suggestion use the same links.

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

Placing (`place_on_node_groups`). A linked pod's machines are the group's nodes, which the change
already prices: pricing the pods as a share of a node as well would count the same money twice.
So a linked pod takes the group's instance type, region and purchase option (for the report and
the policies), says which group in `runs_on` and a note, and has no price of its own: not $0, not
"unpriced", and left out of the totals (its GPUs too: they are the group's GPUs). A linked pod
that fits on none of the group's machines (it asks for more GPUs, vCPUs or memory than a node
has) stays pending there, and is reported unpriced with that reason instead.
"""

from __future__ import annotations

from typing import Iterable

import msgspec

from tollgate.engine.kubernetes import labels as L
from tollgate.engine.kubernetes.nodes import NodeCandidate, shortfall, verdict
from tollgate.engine.model import Action, ComputeRequest, NodeGroupNodes, NodeRequirement, PodResources, Provider
from tollgate.engine.prices import PriceSource
from tollgate.engine.pricing import GpuSummary, PricedRequest, StatePrice

# --- linking pods to node groups -------------------------------------------------------------------


class Links(msgspec.Struct, frozen=True):
    """Which pod requests of the run are scheduled on which node group (by request identity:
    both live as long as the run's priced requests)."""

    pods: dict[int, tuple[PricedRequest, ...]] = msgspec.field(default_factory=dict)  # id(group request) -> pods, input order
    linked: frozenset[int] = frozenset()  # id(pod request)

    def pods_on(self, request: ComputeRequest) -> tuple[PricedRequest, ...]:
        return self.pods.get(id(request), ())

    def is_linked(self, request: ComputeRequest) -> bool:
        return id(request) in self.linked


_NOT_PINNING = L.SPEC_KEYS | L.CAPACITY_KEYS | L.NEUTRAL_KEYS
_BLOCKING = (":NoSchedule", ":NoExecute")


class _Group(msgspec.Struct, frozen=True):
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


# --- placing linked pods on their group ------------------------------------------------------------


def place_on_node_groups(resources: list[PricedRequest], links: Links, prices: PriceSource) -> tuple[list[PricedRequest], Links]:
    """The run's priced requests with every linked pod placed on its node group (see the module
    docstring), in the same order, and the links over the placed requests (a placed pod is a new
    PricedRequest with a new ComputeRequest; node groups and unlinked requests are the same objects)."""
    if not links.linked:
        return resources, links
    group_of: dict[int, PricedRequest] = {}  # id(pod request) -> its group
    for item in resources:
        for pod in links.pods_on(item.request):
            group_of[id(pod.request)] = item
    placed: list[PricedRequest] = []
    replaced: dict[int, PricedRequest] = {}  # id(old pod item) -> placed item
    for item in resources:
        group = group_of.get(id(item.request))
        if group is not None:
            new = _place(item, group, prices)
            replaced[id(item)] = new
            item = new
        placed.append(item)
    pods = {key: tuple(replaced.get(id(p), p) for p in items) for key, items in links.pods.items()}
    return placed, Links(pods, frozenset(id(p.request) for items in pods.values() for p in items))


def _group_name(request: ComputeRequest) -> str:
    return request.address + (f" ({request.component})" if request.component else "")


def _place(item: PricedRequest, group: PricedRequest, prices: PriceSource) -> PricedRequest:
    request = item.request
    pod = request.pod
    assert pod is not None
    nodes = group.request
    name = _group_name(nodes)
    assert nodes.node_group is not None
    machines = _Group.of(nodes, nodes.node_group, prices).candidates or ()
    if machines and all(shortfall(pod, machine) is not None for machine in machines):
        largest = max(machines, key=lambda m: (m.gpus, m.spec.vcpu, m.spec.memory_gib or 0))
        state = StatePrice(
            hourly=None,
            instances=item.after.instances or request.quantity,
            gpus=item.after.gpus,
            region=item.after.region,
            unpriced_reason=(
                f"fits no node of {name}, the node group it is scheduled on: the pod asks for {shortfall(pod, largest)} "
                f"({largest.describe()}), so it stays pending"
            ),
        )
        return PricedRequest(request=request, after=state, before=item.before)
    count = (group.after.instances or nodes.quantity).desired
    machine = (nodes.instance_type or "?") + (f" (+{len(nodes.instance_types) - 1})" if len(nodes.instance_types) > 1 else "")
    machine += f" × {'?' if count is None else count}"
    where = (
        "its nodes are priced there"
        if group.after.hourly is not None
        else "its nodes are that group's, itself not priced (see its reason)"
    )
    reason = f"node group {nodes.address}" + (f": {nodes.purchase_reason}" if nodes.purchase_reason else "")
    placed = msgspec.structs.replace(
        request,
        instance_type=nodes.instance_type,
        instance_types=nodes.instance_types,
        accelerators=nodes.accelerators,
        region=nodes.region,
        region_source=f"node group {nodes.address}",
        zone=request.zone or nodes.zone,
        purchase_option=nodes.purchase_option,
        purchase_reason=reason,
        unknowns=list(request.unknowns),
        notes=list(request.notes),
    )
    group_gpus = group.after.gpus
    desired = request.quantity.desired
    gpus = (
        GpuSummary(
            pod.gpus,
            (group_gpus.model if group_gpus else None) or pod.gpu_model,
            group_gpus.memory_gib if group_gpus else None,
            pod.gpus * desired if desired is not None else None,
        )
        if pod.gpus
        else None
    )
    state = StatePrice(
        hourly=None,  # the group's nodes bill; never $0, and not unpriced either (see runs_on)
        instances=item.after.instances or request.quantity,
        spec=group.after.spec,
        gpus=gpus,
        region=group.after.region,
        notes=[f"runs on {name} of this change ({machine}): {where}, so the pods add nothing to the totals"],
    )
    return PricedRequest(request=placed, after=state, before=item.before, runs_on=nodes.address)
