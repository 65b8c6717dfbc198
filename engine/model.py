"""The normalized model every input reader produces and every later stage consumes.

A `ComputeRequest` is one thing that asks for machines: an instance, a scaling group, a node pool,
a Deployment. Unknown-at-plan-time values stay `None` and are named in `unknowns`; they are never
silently turned into zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum


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


@dataclass(frozen=True, slots=True)
class SourceLocation:
    file: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Quantity:
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


@dataclass(frozen=True, slots=True)
class Accelerator:
    """GPUs attached separately from the machine type (GCP N1 `guest_accelerator`)."""

    type: str  # provider name, e.g. "nvidia-tesla-t4"
    count: int


@dataclass(frozen=True, slots=True)
class PurchaseMix:
    """How many of the desired machines run on each purchase option (mixed-instances groups)."""

    on_demand: int
    spot: int


@dataclass(frozen=True, slots=True)
class Waiver:
    """A request to skip a policy for one resource: an inline `# tollgate:ignore` comment, a
    Kubernetes annotation, or an `exceptions:` entry in tollgate.yaml."""

    policy_id: str  # a policy id or a glob ("*" waives every policy)
    reason: str | None
    source: str  # "inline" | "annotation" | "exceptions"
    file: str | None = None
    line: int | None = None
    owner: str | None = None
    expires: date | None = None


@dataclass(slots=True)
class ComputeRequest:
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
    tags: dict[str, str] = field(default_factory=dict)
    tags_known: bool = True
    operating_system: str = "linux"
    component: str | None = None  # a part of one resource, e.g. a SageMaker production variant
    namespace: str | None = None  # Kubernetes namespace
    waivers: tuple[Waiver, ...] = ()  # inline waivers found in the resource's own source
    unknowns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    before: ComputeRequest | None = None

    def mark_unknown(self, attribute: str) -> None:
        if attribute not in self.unknowns:
            self.unknowns.append(attribute)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
