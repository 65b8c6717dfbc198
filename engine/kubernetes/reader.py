"""Kubernetes manifests -> ComputeRequests.

    read_manifest_requests(path, cluster)          a YAML file: multi-document, `List`s, Helm output
    read_manifest_bytes(data, path, cluster)       the same from bytes
    requests_from_documents(docs, file, cluster)   parsed objects (an admission webhook's object)

One request per pod role of a workload (a Deployment has one; a PyTorchJob one per replica type; a
RayCluster its head and each worker group), priced later as its pods' share of the node they need
(`ComputeRequest.pod`). Karpenter NodePools, KAITO Workspaces and AKS agent pools are node
requests. Everything else (Services, ConfigMaps, CRDs without pods) is not a request.

Address `Kind/namespace/name` (`Kind/name` for cluster-scoped kinds), component the role or the
single container's name, tags the workload's and its pod template's labels, waivers from the
`tollgate.dev/ignore` annotation. Values left as template placeholders (`${GPU_TYPE}`,
`{{ .Values.x }}`) are unknown: listed in `unknowns`, said in `notes`, never guessed.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Iterable

import msgspec

from tollgate.engine.errors import InputError
from tollgate.engine.kubernetes import labels as L
from tollgate.engine.kubernetes.cron import CronError, runs_per_month
from tollgate.engine.kubernetes.documents import Document, decode, load
from tollgate.engine.kubernetes.pods import (
    PodFacts,
    mapping,
    memory_gib,
    purchase_option,
    read_pod_spec,
    sequence,
)
from tollgate.engine.kubernetes.quantities import (
    GIB,
    QuantityError,
    parse_quantity,
    placeholder_in,
)
from tollgate.engine.kubernetes.workloads import (
    BATCH_KINDS,
    ONLINE_KINDS,
    RUN_TO_COMPLETION,
    Role,
    count_field,
    is_cluster_scoped,
    roles_of,
)
from tollgate.engine.model import (
    CapacityUnit,
    ClusterNodePool,
    ComputeRequest,
    NodeRequirement,
    PodResources,
    Provider,
    PurchaseOption,
    Quantity,
    SourceLocation,
    Waiver,
    WorkloadClass,
)

if TYPE_CHECKING:
    from tollgate.engine.config_types import Cluster

DEFAULT_BATCH_HOURS = 1.0  # a run's hours when neither the annotation nor the configuration says
EXPECTED_HOURS = "tollgate.dev/expected-hours"
WORKLOAD_CLASS_LABELS = ("tollgate.dev/workload-class", "workload-class")
IGNORE = "tollgate.dev/ignore"
IGNORE_REASON = "tollgate.dev/ignore-reason"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024

_BATCH_WORDS = {"batch", "training", "train"}
_ONLINE_WORDS = {"online", "serving", "inference", "service"}


def read_manifest_requests(
    path: str, cluster: Cluster | None = None, *, default_batch_hours: float | None = None
) -> list[ComputeRequest]:
    try:
        size = os.path.getsize(path)
        if size > MAX_MANIFEST_BYTES:
            raise InputError(path, f"is {size} bytes; manifests over {MAX_MANIFEST_BYTES} bytes are not read")
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise InputError(path, f"cannot be read: {error.strerror or error}") from None
    return read_manifest_bytes(data, path, cluster, default_batch_hours=default_batch_hours)


def read_manifest_stream(data: bytes, name: str, cluster: Cluster | None = None) -> list[ComputeRequest]:
    """A manifest read from standard input or a pipe (already read whole, up to the input limit)."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise InputError(name, f"is {len(data)} bytes; manifests over {MAX_MANIFEST_BYTES} bytes are not read")
    return read_manifest_bytes(data, name, cluster)


def read_manifest_bytes(
    data: bytes, source_file: str, cluster: Cluster | None = None, *, default_batch_hours: float | None = None
) -> list[ComputeRequest]:
    import gc

    text = decode(data, source_file)
    # Bulk YAML decoding allocates millions of small objects; the collector would walk them all.
    enabled = gc.isenabled()
    gc.disable()
    try:
        documents = list(load(text, source_file))
    finally:
        if enabled:
            gc.enable()
    return requests_from_documents(documents, source_file, cluster, default_batch_hours=default_batch_hours)


def requests_from_documents(
    documents: Iterable[Document | Any],
    source_file: str,
    cluster: Cluster | None = None,
    *,
    default_batch_hours: float | None = None,
) -> list[ComputeRequest]:
    """Requests from parsed objects (`Document`s, or plain dicts such as an AdmissionReview's
    `request.object`, which have no line)."""
    context = _Context.of(source_file, cluster, default_batch_hours)
    requests: list[ComputeRequest] = []
    for document in documents:
        if not isinstance(document, Document):
            document = Document(document)
        for item in _flatten(document):
            if isinstance(item.obj, dict) and isinstance(item.obj.get("kind"), str):
                requests.extend(_requests(item, context))
    return requests


def _flatten(document: Document) -> Iterable[Document]:
    obj = document.obj
    if isinstance(obj, dict) and str(obj.get("kind", "")).endswith("List") and isinstance(obj.get("items"), list):
        for item in obj["items"]:
            yield from _flatten(Document(item, document.line, document.helm_source))
    else:
        yield document


# --- shared context --------------------------------------------------------------------------


class _Context(msgspec.Struct, frozen=True):
    file: str
    provider: Provider | None
    region: str | None
    pools: tuple[ClusterNodePool, ...]
    batch_hours: float
    batch_hours_source: str

    @classmethod
    def of(cls, file: str, cluster: Cluster | None, default_batch_hours: float | None) -> _Context:
        configured = getattr(cluster, "default_job_hours", None) if cluster is not None else None
        if default_batch_hours is not None:
            hours, source = default_batch_hours, "the configured default"
        elif isinstance(configured, (int, float)) and configured > 0:
            hours, source = float(configured), "cluster.default_job_hours"
        else:
            hours, source = DEFAULT_BATCH_HOURS, "the default"
        if cluster is None:
            return cls(file, None, None, (), hours, source)
        pools = tuple(
            ClusterNodePool(
                name=pool.name,
                instance_types=tuple(pool.instance_types),
                purchase_option=PurchaseOption.SPOT if pool.capacity == "spot" else PurchaseOption.ON_DEMAND,
                labels=tuple((str(k), str(v)) for k, v in pool.labels.items()),
                taints=tuple(pool.taints),
            )
            for pool in cluster.node_pools
        )
        return cls(file, Provider(cluster.provider), cluster.region, pools, hours, source)


class _Workload(msgspec.Struct):
    """What every request of one manifest object shares."""

    kind: str
    api_version: str
    name: str
    namespace: str | None
    address: str
    labels: dict[str, str]
    annotations: dict[str, str]
    source: SourceLocation
    notes: list[str]
    waivers: tuple[Waiver, ...]


def _strings(value: Any) -> dict[str, str]:
    return {str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in mapping(value).items()}


def _workload(document: Document, context: _Context) -> _Workload:
    obj = document.obj
    kind = str(obj["kind"])
    api_version = str(obj.get("apiVersion") or "")
    metadata = mapping(obj.get("metadata"))
    name = str(metadata.get("name") or (f"{metadata['generateName']}*" if metadata.get("generateName") else "(unnamed)"))
    cluster_scoped = is_cluster_scoped(kind, api_version)
    namespace = None if cluster_scoped else str(metadata.get("namespace") or "default")
    address = f"{kind}/{name}" if cluster_scoped else f"{kind}/{namespace}/{name}"
    annotations = _strings(metadata.get("annotations"))
    source = SourceLocation(context.file, document.line)
    notes = [f"rendered by Helm from {document.helm_source}"] if document.helm_source else []
    return _Workload(
        kind=kind,
        api_version=api_version,
        name=name,
        namespace=namespace,
        address=address,
        labels=_strings(metadata.get("labels")),
        annotations=annotations,
        source=source,
        notes=notes,
        waivers=_waivers(annotations, source),
    )


def _waivers(annotations: dict[str, str], source: SourceLocation) -> tuple[Waiver, ...]:
    ids = [part.strip() for part in annotations.get(IGNORE, "").split(",") if part.strip()]
    reason = annotations.get(IGNORE_REASON, "").strip() or None
    return tuple(
        Waiver(policy_id=policy_id, reason=reason, source="annotation", file=source.file, line=source.line) for policy_id in ids
    )


# --- requests ------------------------------------------------------------------------------------


def _requests(document: Document, context: _Context) -> list[ComputeRequest]:
    obj = document.obj
    kind = str(obj["kind"])
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.split("/", 1)[0]
    if kind == "NodePool" and group == "karpenter.sh":
        return [_karpenter_node_pool(_workload(document, context), obj, context)]
    if kind in ("NodePool", "AgentPool", "ManagedClustersAgentPool") and "vmSize" in mapping(obj.get("spec")):
        return [_agent_pool(_workload(document, context), obj, context)]
    if kind == "Workspace" and group == "kaito.sh":
        return [_kaito_workspace(_workload(document, context), obj, context)]
    roles = roles_of(kind, api_version, obj)
    if not roles:
        return []
    workload = _workload(document, context)
    facts = [read_pod_spec(role.spec) for role in roles]
    provider, region, zone, region_source, provider_notes = _place(facts, roles, obj, context)
    run_hours = _run_hours(workload, obj, roles, context)
    requests = []
    for role, pod in zip(roles, facts):
        requests.append(_pod_request(workload, role, pod, obj, context, provider, region, zone, region_source, provider_notes, run_hours))
    return requests


def _place(
    facts: list[PodFacts], roles: list[Role], obj: dict[str, Any], context: _Context
) -> tuple[Provider, str | None, str | None, str | None, list[str]]:
    """Provider and region of a workload: the cluster profile, else its node labels (every role's:
    a RayCluster's head is on the cloud its GPU workers name)."""
    votes: dict[Provider, str] = {}
    region: str | None = None
    zone: str | None = None
    region_source: str | None = None
    for pod in facts:
        requirements = [*pod.requirements, *pod.preferred, *(r for term in pod.alternatives for r in term)]
        for requirement in requirements:
            found = L.provider_of_key(requirement.key)
            if found is not None:
                votes.setdefault(found, f"{requirement.source} {requirement.key}")
            if requirement.operator == "In" and requirement.values and region is None:
                if requirement.key in L.REGION_KEYS:
                    region, region_source = requirement.values[0], f"{requirement.source} {requirement.key}"
                elif requirement.key in L.ZONE_KEYS:
                    region = zone = requirement.values[0]
                    region_source = f"{requirement.source} {requirement.key}"
        for toleration in pod.tolerations:
            found = L.provider_of_key(toleration)
            if found is not None:
                votes.setdefault(found, f"toleration {toleration.split(':')[0]}")
        for instance_type in pod.instance_types:
            found = L.provider_of_instance_type(instance_type)
            if found is not None:
                votes.setdefault(found, f"instance type {instance_type}")
    notes: list[str] = []
    if context.provider is not None:
        others = [f"{p.value} ({why})" for p, why in votes.items() if p is not context.provider]
        if others:
            notes.append(f"node labels name {', '.join(others)}, but the cluster profile is {context.provider.value}; the profile is used")
        return context.provider, context.region, None, "cluster profile (tollgate.yaml cluster:)", notes
    if len(votes) == 1:
        provider, why = next(iter(votes.items()))
        notes.append(f"cloud {provider.value} from {why} (no cluster profile)")
        return provider, region, zone, region_source, notes
    if len(votes) > 1:
        notes.append(f"node labels name several clouds ({', '.join(p.value for p in votes)}); the cloud is unknown")
    return Provider.UNKNOWN, region, zone, region_source, notes


def _workload_class(workload: _Workload, roles: list[Role], kind: str, obj: dict[str, Any]) -> tuple[WorkloadClass, str | None]:
    for where, mapping_ in [("label", workload.labels), *(("pod label", _strings(r.labels)) for r in roles)]:
        for key in WORKLOAD_CLASS_LABELS:
            value = mapping_.get(key)
            if value is None:
                continue
            word = value.strip().lower()
            if word in _BATCH_WORDS:
                return WorkloadClass.BATCH, f"{where} {key}={value}"
            if word in _ONLINE_WORDS:
                return WorkloadClass.ONLINE, f"{where} {key}={value}"
    if kind in BATCH_KINDS or (kind == "Job" and workload.api_version.startswith("batch.volcano.sh")):
        return WorkloadClass.BATCH, f"kind {kind} runs to completion"
    if kind in ONLINE_KINDS:
        return WorkloadClass.ONLINE, f"kind {kind} serves continuously"
    if kind == "Pod" and str(mapping(obj.get("spec")).get("restartPolicy")) in ("Never", "OnFailure"):
        return WorkloadClass.BATCH, f"Pod with restartPolicy {mapping(obj.get('spec')).get('restartPolicy')} runs to completion"
    return WorkloadClass.UNKNOWN, None


def _runs_to_completion(workload: _Workload, obj: dict[str, Any]) -> bool:
    if workload.kind in RUN_TO_COMPLETION or (workload.kind == "Job" and workload.api_version.startswith("batch.volcano.sh")):
        return True
    return workload.kind == "Pod" and str(mapping(obj.get("spec")).get("restartPolicy")) in ("Never", "OnFailure")


class _RunHours(msgspec.Struct, frozen=True):
    hours_per_month: float | None
    notes: tuple[str, ...]
    unknowns: tuple[str, ...]


def _run_hours(workload: _Workload, obj: dict[str, Any], roles: list[Role], context: _Context) -> _RunHours:
    """Hours a run-to-completion workload runs in a month: expected hours per run x runs."""
    if not _runs_to_completion(workload, obj):
        if EXPECTED_HOURS in workload.annotations:
            return _RunHours(None, (f"{EXPECTED_HOURS} is ignored: a {workload.kind} runs all month",), ())
        return _RunHours(None, (), ())
    spec = mapping(obj.get("spec"))
    annotations = dict(workload.annotations)
    if workload.kind == "CronJob":
        annotations = {**_strings(mapping(mapping(spec.get("jobTemplate")).get("metadata")).get("annotations")), **annotations}
    for role in roles:
        annotations = {**_strings(role.annotations), **annotations}
    notes: list[str] = []
    raw = annotations.get(EXPECTED_HOURS)
    hours: Fraction | None
    if raw is not None:
        placeholder = placeholder_in(raw)
        try:
            hours = None if placeholder else Fraction(raw.strip())
        except (ValueError, ZeroDivisionError):
            hours = None
        if hours is None or hours <= 0:
            why = f"the unresolved placeholder {placeholder}" if placeholder else f"{raw!r}, not a positive number of hours"
            return _RunHours(None, (f"{EXPECTED_HOURS} is {why}",), ("expected_hours",))
        notes.append(f"{float(hours):g} h per run ({EXPECTED_HOURS})")
    else:
        hours = Fraction(repr(context.batch_hours))
        job = mapping(mapping(spec.get("jobTemplate")).get("spec")) if workload.kind == "CronJob" else spec
        deadline = count_field(job, "activeDeadlineSeconds", None, None, "activeDeadlineSeconds")
        if deadline is not None and Fraction(deadline, 3600) < hours:
            hours = Fraction(deadline, 3600)
            notes.append(f"{float(hours):g} h per run: activeDeadlineSeconds {deadline} caps the run (no {EXPECTED_HOURS} annotation)")
        else:
            notes.append(f"{float(hours):g} h per run ({context.batch_hours_source}; set the {EXPECTED_HOURS} annotation)")
    if workload.kind not in ("CronJob", "ScheduledSparkApplication"):
        notes.append("a one-off run: priced for its hours in the month it runs")
        return _RunHours(float(hours), tuple(notes), ())
    schedule = spec.get("schedule")
    if str(spec.get("suspend")).lower() == "true":
        notes.append("suspended: no runs until it is resumed")
        return _RunHours(0.0, tuple(notes), ())
    placeholder = placeholder_in(schedule)
    if not isinstance(schedule, str) or placeholder:
        why = f"the unresolved placeholder {placeholder}" if placeholder else "missing"
        return _RunHours(None, (*notes, f"schedule is {why}"), ("schedule",))
    try:
        runs = runs_per_month(schedule)
    except CronError as error:
        return _RunHours(None, (*notes, f"schedule {schedule!r} is not understood: {error}"), ("schedule",))
    notes.append(f"schedule {schedule!r}: {float(runs):.4g} runs/month")
    return _RunHours(float(hours * runs), tuple(notes), ())


def _pod_request(
    workload: _Workload,
    role: Role,
    pod: PodFacts,
    obj: dict[str, Any],
    context: _Context,
    provider: Provider,
    region: str | None,
    zone: str | None,
    region_source: str | None,
    provider_notes: list[str],
    run_hours: _RunHours,
) -> ComputeRequest:
    option, option_reason, from_pool = purchase_option(pod)
    workload_class, class_reason = _workload_class(workload, [role], workload.kind, obj)
    component = role.name or (pod.containers[0] if len(pod.containers) == 1 else None)
    tags = {**_strings(role.labels), **workload.labels}
    resources = PodResources(
        cpu=None if pod.cpu is None else float(pod.cpu),
        memory_gib=memory_gib(pod.memory_bytes),
        gpus=None if pod.gpus is None else float(pod.gpus),
        gpu_resource=pod.gpu_resource,
        gpu_model=pod.gpu_model,
        gpu_model_source=pod.gpu_model_source,
        node_gpus=pod.node_gpus,
        requirements=tuple(pod.requirements),
        alternatives=tuple(pod.alternatives),
        tolerations=tuple(t for t in pod.tolerations if t),
        node_pools=context.pools,
        capacity_from_pool=from_pool,
        shared_gpu=pod.shared_gpu,
    )
    notes = [*workload.notes, *role.notes, *pod.notes, *provider_notes, *run_hours.notes]
    unknowns = [*role.unknowns, *pod.unknowns, *run_hours.unknowns]
    request = ComputeRequest(
        address=workload.address,
        kind=workload.kind,
        source=workload.source,
        provider=provider,
        region=region,
        zone=zone,
        region_source=region_source if region else None,
        instance_type=pod.instance_types[0] if len(pod.instance_types) == 1 else None,
        instance_types=tuple(pod.instance_types) if len(pod.instance_types) > 1 else (),
        quantity=role.pods,
        purchase_option=option,
        purchase_reason=option_reason,
        workload_class=workload_class,
        workload_class_reason=class_reason,
        tags=tags,
        operating_system=pod.operating_system or "linux",
        component=component,
        namespace=workload.namespace,
        waivers=workload.waivers,
        pod=resources,
        hours_per_month_override=run_hours.hours_per_month,
    )
    for text in notes:
        request.note(text)
    for attribute in unknowns:
        request.mark_unknown(attribute)
    return request


# --- node requests -------------------------------------------------------------------------------


def _karpenter_node_pool(workload: _Workload, obj: dict[str, Any], context: _Context) -> ComputeRequest:
    """A Karpenter NodePool: the catalog types its requirements allow (resolved while pricing), its
    capacity type, and its limits as the ceiling. Nodes are launched for pending pods, which are
    priced themselves, so the pool's own size is 0 (or its static `replicas`)."""
    spec = mapping(obj.get("spec"))
    node_spec = mapping(mapping(spec.get("template")).get("spec"))
    facts = PodFacts()
    requirements: list[NodeRequirement] = []
    for item in sequence(node_spec.get("requirements")):
        item = mapping(item)
        if item.get("key") is None:
            continue
        values = [str(v).lower() if isinstance(v, bool) else str(v) for v in sequence(item.get("values"))]
        kept = [v for v in values if placeholder_in(v) is None]
        for value in values:
            if placeholder_in(value) is not None:
                facts.unknown(f"node label {item['key']}", f"requirement {item['key']} is the unresolved placeholder {placeholder_in(value)}")
        if values and not kept:
            continue
        requirements.append(NodeRequirement(str(item["key"]), str(item.get("operator", "In")), tuple(kept), "requirements"))
    notes = list(workload.notes) + list(facts.notes)

    group = str(mapping(node_spec.get("nodeClassRef")).get("group") or "")
    provider = context.provider
    provider_reason = "cluster profile (tollgate.yaml cluster:)"
    if provider is None:
        provider = {"karpenter.k8s.aws": Provider.AWS, "karpenter.azure.com": Provider.AZURE, "karpenter.k8s.gcp": Provider.GCP}.get(group)
        provider_reason = f"nodeClassRef group {group}"
    if provider is None:
        found = {p for p in (L.provider_of_key(r.key) for r in requirements) if p is not None}
        provider = found.pop() if len(found) == 1 else Provider.UNKNOWN
        provider_reason = "requirement labels"
    if context.provider is None and provider is not Provider.UNKNOWN:
        notes.append(f"cloud {provider.value} from the {provider_reason} (no cluster profile)")

    region, zone, region_source = context.region, None, "cluster profile (tollgate.yaml cluster:)" if context.region else None
    if region is None:
        for requirement in requirements:
            if requirement.operator == "In" and requirement.values and requirement.key in (*L.REGION_KEYS, *L.ZONE_KEYS):
                region = requirement.values[0]
                zone = region if requirement.key in L.ZONE_KEYS else None
                region_source = f"requirement {requirement.key}"
                break

    option, option_reason = _karpenter_capacity(requirements)
    operating_system = "linux"
    for requirement in requirements:
        if requirement.key in L.OS_KEYS and requirement.operator == "In" and requirement.values:
            operating_system = requirement.values[0].lower()

    limits = mapping(spec.get("limits"))
    placeholder = Role(None, {}, Quantity.fixed(0))
    replicas = count_field(spec, "replicas", None, placeholder, "replicas")
    notes.extend(placeholder.notes)
    cpu_limit = _limit(limits.get("cpu"), facts, "limits.cpu")
    if replicas is not None:
        quantity = Quantity.fixed(replicas)
        notes.append(f"static capacity: {replicas} nodes (spec.replicas)")
    elif cpu_limit is not None:
        quantity = Quantity(desired=0, min=0, max=int(cpu_limit), unit=CapacityUnit.VCPUS)
        notes.append("Karpenter launches nodes for pending pods (priced with the pods): 0 nodes now, limits.cpu is the ceiling")
    else:
        quantity = Quantity.fixed(0)
        notes.append("Karpenter launches nodes for pending pods (priced with the pods): 0 nodes now, and no limits.cpu, so no ceiling")
    memory_limit = _limit(limits.get("memory"), facts, "limits.memory")
    if memory_limit is not None:
        notes.append(f"limits.memory {float(memory_limit / GIB):g} GiB")
    for key, value in limits.items():
        if key not in ("cpu", "memory"):
            notes.append(f"limits.{key} {value}")

    explicit = [v for r in requirements if r.key in L.INSTANCE_TYPE_KEYS and r.operator == "In" for v in r.values]
    request = ComputeRequest(
        address=workload.address,
        kind=workload.kind,
        source=workload.source,
        provider=provider,
        region=region,
        zone=zone,
        region_source=region_source if region else None,
        instance_type=explicit[0] if explicit else None,
        instance_types=tuple(explicit) if len(explicit) > 1 else (),
        quantity=quantity,
        purchase_option=option,
        purchase_reason=option_reason,
        workload_class=WorkloadClass.UNKNOWN,
        tags=workload.labels,
        operating_system=operating_system,
        namespace=None,
        waivers=workload.waivers,
        node_requirements=tuple(requirements),
    )
    for text in notes:
        request.note(text)
    for attribute in facts.unknowns:
        request.mark_unknown(attribute)
    return request


def _limit(value: Any, facts: PodFacts, what: str) -> Fraction | None:
    if value is None:
        return None
    placeholder = placeholder_in(value)
    if placeholder is not None:
        facts.unknown(what, f"{what} is the unresolved placeholder {placeholder}")
        return None
    try:
        return parse_quantity(value)
    except QuantityError as error:
        facts.unknown(what, f"{what}: {error}")
        return None


def _karpenter_capacity(requirements: list[NodeRequirement]) -> tuple[PurchaseOption, str]:
    allowed = {"spot", "on-demand"}
    written = False
    for requirement in requirements:
        if requirement.key != "karpenter.sh/capacity-type":
            continue
        written = True
        values = {v.lower() for v in requirement.values}
        if requirement.operator == "In":
            allowed = values
        elif requirement.operator == "NotIn":
            allowed -= values
    if not written:
        return PurchaseOption.ON_DEMAND, "no karpenter.sh/capacity-type requirement: Karpenter's default is on-demand"
    if "spot" in allowed:
        if len(allowed) > 1:
            return PurchaseOption.SPOT, f"capacity-type allows {', '.join(sorted(allowed))}: Karpenter launches spot first"
        return PurchaseOption.SPOT, "requirement karpenter.sh/capacity-type=spot"
    if "on-demand" in allowed:
        return PurchaseOption.ON_DEMAND, "requirement karpenter.sh/capacity-type=on-demand"
    if "reserved" in allowed:
        return PurchaseOption.RESERVED, "requirement karpenter.sh/capacity-type=reserved"
    return PurchaseOption.UNKNOWN, "karpenter.sh/capacity-type allows no capacity type Tollgate knows"


def _agent_pool(workload: _Workload, obj: dict[str, Any], context: _Context) -> ComputeRequest:
    """An AKS agent pool written as a manifest (Azure Service Operator, fleet tooling): vmSize,
    count/minCount/maxCount, priority or scaleSetPriority Spot."""
    spec = mapping(obj.get("spec"))
    role = Role(None, {}, Quantity.fixed(0))
    low = count_field(spec, "minCount", None, role, "minCount")
    high = count_field(spec, "maxCount", None, role, "maxCount")
    count = count_field(spec, "count", low if low is not None else 1, role, "count")
    autoscaling = str(spec.get("enableAutoScaling")).lower() == "true"
    quantity = Quantity(desired=count, min=low if autoscaling else None, max=high if autoscaling else None)
    priority = str(spec.get("scaleSetPriority") or spec.get("priority") or "Regular")
    option = PurchaseOption.SPOT if priority.lower() == "spot" else PurchaseOption.ON_DEMAND
    vm_size = spec.get("vmSize")
    notes = [*workload.notes, *role.notes]
    unknowns = list(role.unknowns)
    instance_type: str | None = str(vm_size) if vm_size is not None else None
    if instance_type and placeholder_in(instance_type):
        notes.append(f"vmSize is the unresolved placeholder {placeholder_in(instance_type)}")
        unknowns.append("instance_type")
        instance_type = None
    provider = context.provider or Provider.AZURE
    request = ComputeRequest(
        address=workload.address,
        kind=workload.kind,
        source=workload.source,
        provider=provider,
        region=context.region if context.provider is Provider.AZURE else None,
        region_source="cluster profile (tollgate.yaml cluster:)" if context.provider is Provider.AZURE else None,
        instance_type=instance_type,
        quantity=quantity,
        purchase_option=option,
        purchase_reason=f"priority {priority}",
        tags={**workload.labels, **_strings(spec.get("nodeLabels"))},
        namespace=workload.namespace,
        waivers=workload.waivers,
    )
    if count == low and autoscaling:
        notes.append("autoscaling pool: priced at minCount")
    for text in notes:
        request.note(text)
    for attribute in unknowns:
        request.mark_unknown(attribute)
    return request


def _kaito_workspace(workload: _Workload, obj: dict[str, Any], context: _Context) -> ComputeRequest:
    """A KAITO Workspace provisions `resource.count` nodes of `resource.instanceType` for a model."""
    resource = mapping(obj.get("resource")) or mapping(mapping(obj.get("spec")).get("resource"))
    notes = list(workload.notes)
    unknowns: list[str] = []
    role = Role(None, {}, Quantity.fixed(0))
    count = count_field(resource, "count", 1, role, "resource.count")
    notes.extend(role.notes)
    unknowns.extend(role.unknowns)
    instance_type: str | None = str(resource.get("instanceType") or "") or None
    if instance_type is None:
        instance_type = "Standard_NC24ads_A100_v4"
        notes.append("resource.instanceType not set: KAITO's default Standard_NC24ads_A100_v4")
    elif placeholder_in(instance_type):
        notes.append(f"resource.instanceType is the unresolved placeholder {placeholder_in(instance_type)}")
        unknowns.append("instance_type")
        instance_type = None
    if resource.get("preferredNodes"):
        notes.append("resource.preferredNodes names existing nodes: they may already be paid for")
    provider = context.provider or (L.provider_of_instance_type(instance_type) if instance_type else None) or Provider.AZURE
    tuning = "tuning" in obj or "tuning" in mapping(obj.get("spec"))
    workload_class: WorkloadClass = WorkloadClass.BATCH if tuning else WorkloadClass.ONLINE
    reason: str | None = "KAITO Workspace with tuning" if tuning else "KAITO Workspace with inference"
    override, override_reason = _workload_class(workload, [], workload.kind, obj)
    if override is not WorkloadClass.UNKNOWN:
        workload_class, reason = override, override_reason
    request = ComputeRequest(
        address=workload.address,
        kind=workload.kind,
        source=workload.source,
        provider=provider,
        region=context.region if context.provider is provider else None,
        region_source="cluster profile (tollgate.yaml cluster:)" if context.provider is provider and context.region else None,
        instance_type=instance_type,
        quantity=Quantity.fixed(count),
        purchase_option=PurchaseOption.ON_DEMAND,
        purchase_reason="KAITO provisions on-demand GPU nodes",
        workload_class=workload_class,
        workload_class_reason=reason,
        tags=workload.labels,
        namespace=workload.namespace,
        waivers=workload.waivers,
    )
    for text in notes:
        request.note(text)
    for attribute in unknowns:
        request.mark_unknown(attribute)
    return request
