"""The normalized model every input reader produces and every later stage consumes.

A `ComputeRequest` is one thing that asks for machines: an instance, a scaling group, a node pool,
a Deployment. Unknown-at-plan-time values stay `None` and are named in `unknowns`; they are never
silently turned into zero.
"""

from __future__ import annotations

from datetime import date
from enum import Enum

import msgspec


class Provider(str, Enum):
    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"
    UNKNOWN = "unknown"


class PurchaseOption(str, Enum):
    ON_DEMAND = "on_demand"
    SPOT = "spot"
    RESERVED = "reserved"
    UNKNOWN = "unknown"


class WorkloadClass(str, Enum):
    BATCH = "batch"
    ONLINE = "online"
    UNKNOWN = "unknown"


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"
    NO_OP = "no-op"


class CapacityUnit(str, Enum):
    """What a quantity counts. AWS Batch sizes compute environments in vCPUs, not instances."""

    INSTANCES = "instances"
    VCPUS = "vcpus"


class SourceLocation(msgspec.Struct, frozen=True):
    file: str
    line: int | None = None


class Quantity(msgspec.Struct, frozen=True):
    """How many machines. `desired` None means unknown at plan time; min/max None means fixed."""

    desired: int | None
    min: int | None = None
    max: int | None = None
    unit: CapacityUnit = CapacityUnit.INSTANCES

    @classmethod
    def fixed(cls, n: int | None) -> Quantity:
        return cls(desired=n)

    @property
    def is_scaling(self) -> bool:
        return self.min is not None or self.max is not None


class Accelerator(msgspec.Struct, frozen=True):
    """GPUs attached separately from the machine type (GCP N1 `guest_accelerator`)."""

    type: str  # provider name, e.g. "nvidia-tesla-t4"
    count: int


class PurchaseMix(msgspec.Struct, frozen=True):
    """How many of the desired machines run on each purchase option (mixed-instances groups)."""

    on_demand: int
    spot: int


class Waiver(msgspec.Struct, frozen=True):
    """A request to skip a policy for one resource: an inline `# tollgate:ignore` comment, a
    Kubernetes annotation, or an `exceptions:` entry in tollgate.yaml."""

    policy_id: str  # a policy id or a glob ("*" waives every policy)
    reason: str | None
    source: str  # "inline" | "annotation" | "exceptions"
    file: str | None = None
    line: int | None = None
    owner: str | None = None
    expires: date | None = None


class NodeRequirement(msgspec.Struct, frozen=True):
    """One node-label requirement: a nodeSelector entry (operator In, one value), a required
    node-affinity expression, or a Karpenter NodePool requirement. `source` says where it was written."""

    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: tuple[str, ...] = ()
    source: str = "nodeSelector"


class ClusterNodePool(msgspec.Struct, frozen=True):
    """A node pool of the cluster profile (tollgate.yaml `cluster.node_pools`) as a pod sees it."""

    name: str
    instance_types: tuple[str, ...]
    purchase_option: PurchaseOption
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[str, ...] = ()  # "key=value:Effect" or "key:Effect"


class NodeGroupNodes(msgspec.Struct, frozen=True):
    """What every node of a Terraform node group (EKS node group, GKE node pool, AKS pool) carries,
    so the pods of the same change can be matched to it: the group's own labels plus those the
    cloud sets on its nodes (the group's name, its capacity type), and its taints. The instance-type
    and GPU labels are not listed: they follow from the request's instance type."""

    labels: tuple[tuple[str, str], ...] = ()
    unknown_labels: tuple[str, ...] = ()  # label keys whose values are unknown at plan time; "*": any key
    taints: tuple[str, ...] = ()  # "key=value:Effect" or "key:Effect" (Kubernetes effect names)
    taints_known: bool = True

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


class PodResources(msgspec.Struct, frozen=True):
    """What one pod of a Kubernetes workload asks for, so it can be priced as its share of the node
    it needs (GPU share for GPU pods, else the larger of its CPU and memory shares).

    Sizes are per pod: the sum of its containers' requests (limits where no request is given), with
    init containers counted as their maximum. None means unknown (an unresolved placeholder); the
    request's `unknowns` names it. `ComputeRequest.quantity` counts pods, not nodes."""

    cpu: float | None  # cores
    memory_gib: float | None
    gpus: float | None  # accelerators per pod; a MIG slice counts as its fraction of one GPU
    gpu_resource: str | None = None  # nvidia.com/gpu | amd.com/gpu | google.com/tpu | nvidia.com/mig-1g.10gb ...
    gpu_model: str | None = None  # catalog GPU model (or family, "A100") a node label names
    gpu_model_source: str | None = None  # e.g. "nodeSelector cloud.google.com/gke-accelerator=nvidia-l4"
    node_gpus: int | None = None  # accelerators per node, when a label says (cloud.google.com/gke-accelerator-count)
    requirements: tuple[NodeRequirement, ...] = ()  # node labels the pod requires (all of them)
    alternatives: tuple[tuple[NodeRequirement, ...], ...] = ()  # required node-affinity terms: one of them
    tolerations: tuple[str, ...] = ()  # "key=value:Effect", "key:Effect", "key" or "*" (tolerates everything)
    node_pools: tuple[ClusterNodePool, ...] = ()  # the cluster profile's pools, in profile order
    capacity_from_pool: bool = False  # no selector/toleration fixed the purchase option: the pool's decides
    shared_gpu: bool = False  # time-sliced/virtual GPUs (-SHARED product label, HAMi): a GPU may be split


class ComputeRequest(msgspec.Struct):
    address: str
    kind: str
    source: SourceLocation
    provider: Provider
    region: str | None
    instance_type: str | None
    quantity: Quantity
    purchase_option: PurchaseOption
    action: Action = Action.CREATE
    zone: str | None = None
    region_source: str | None = None  # how the region was found: "provider config", "zone", ...
    # Every type the request may launch, in the group's own priority order; instance_type is the
    # one that is priced for on-demand capacity (AWS launches on-demand capacity in priority order).
    instance_types: tuple[str, ...] = ()
    accelerators: tuple[Accelerator, ...] = ()
    purchase_mix: PurchaseMix | None = None
    purchase_reason: str | None = None
    workload_class: WorkloadClass = WorkloadClass.UNKNOWN
    workload_class_reason: str | None = None
    tags: dict[str, str] = msgspec.field(default_factory=dict)
    tags_known: bool = True
    operating_system: str = "linux"
    component: str | None = None  # a part of one resource, e.g. a SageMaker production variant
    namespace: str | None = None  # Kubernetes namespace
    waivers: tuple[Waiver, ...] = ()  # inline waivers found in the resource's own source
    # Kubernetes: a pod-share request (quantity counts pods), priced as its share of the node it needs.
    pod: PodResources | None = None
    # A node pool whose candidate types are the catalog types meeting these requirements (Karpenter
    # NodePool); pricing resolves them into instance_types.
    node_requirements: tuple[NodeRequirement, ...] = ()
    # A Terraform node group: the labels and taints of its nodes (pods of the change are matched
    # to it by them). None for everything else.
    node_group: NodeGroupNodes | None = None
    # Hours the request runs in a month when it does not run all month (a Job's expected hours, a
    # CronJob's runs x hours per run); None means all month (settings.hours_per_month).
    hours_per_month_override: float | None = None
    unknowns: list[str] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)
    before: ComputeRequest | None = None

    def mark_unknown(self, attribute: str) -> None:
        if attribute not in self.unknowns:
            self.unknowns.append(attribute)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
