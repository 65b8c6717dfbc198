"""Where each kind keeps its pod templates and how many pods each runs.

A workload is one or more roles (a Deployment has one; a PyTorchJob has Master and Worker; a
RayCluster a head and worker groups), each a pod spec and a pod count. Unknown kinds are searched
for pod templates (a `containers` list) and read generically, with the nearest `replicas`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tollgate.engine.kubernetes.pods import mapping, sequence
from tollgate.engine.kubernetes.quantities import parse_count, placeholder_in
from tollgate.engine.model import Quantity

BATCH_KINDS = frozenset(
    {
        "Job", "CronJob", "PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "PaddleJob", "JAXJob", "MXJob",
        "TrainJob", "RayJob", "SparkApplication", "ScheduledSparkApplication",
    }
)
ONLINE_KINDS = frozenset(
    {
        "Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "InferenceService",
        "LLMInferenceService", "RayService", "LeaderWorkerSet", "NIMService",
    }
)
# Kinds that run to completion: priced for the hours they run, not all month.
RUN_TO_COMPLETION = BATCH_KINDS

# Kinds that never hold pods Tollgate should price; not searched generically.
NOT_WORKLOADS = frozenset(
    {
        "Namespace", "Service", "ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding", "ClusterRole",
        "ClusterRoleBinding", "PersistentVolume", "PersistentVolumeClaim", "StorageClass", "Ingress", "IngressClass",
        "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler", "VerticalPodAutoscaler",
        "CustomResourceDefinition", "PriorityClass", "LimitRange", "ResourceQuota", "Endpoints", "EndpointSlice",
        "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService", "Lease", "Event",
        "PodTemplate", "EC2NodeClass", "AKSNodeClass", "GCENodeClass", "ResourceFlavor", "ClusterQueue",
        "LocalQueue", "Cohort", "WorkloadPriorityClass", "ComputeClass", "ServiceMonitor", "PodMonitor",
        "PrometheusRule", "Certificate", "Issuer", "ClusterIssuer", "Gateway", "HTTPRoute", "VirtualService",
        "DestinationRule", "NIMCache", "ServingRuntime", "ClusterServingRuntime",
    }
)
_CLUSTER_SCOPED = frozenset({"NodePool", "Namespace", "ClusterQueue", "ResourceFlavor", "ComputeClass", "PersistentVolume"})

_KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
_KSERVE_FRAMEWORKS = (
    "model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "pmml", "lightgbm", "paddle",
    "huggingface", "lightgbm",
)


class Role(msgspec.Struct):
    """One pod template of a workload and how many pods run it."""

    name: str | None
    spec: dict[str, Any]
    pods: Quantity
    labels: dict[str, Any] = msgspec.field(default_factory=dict)
    annotations: dict[str, Any] = msgspec.field(default_factory=dict)
    notes: list[str] = msgspec.field(default_factory=list)
    unknowns: list[str] = msgspec.field(default_factory=list)


def is_cluster_scoped(kind: str, api_version: str) -> bool:
    return kind in _CLUSTER_SCOPED and not (kind == "NodePool" and not api_version.startswith("karpenter."))


def count_field(node: dict[str, Any], key: str, default: int | None, role: Role | None, what: str) -> int | None:
    """An integer field that may be missing (default), a number, or an unresolved placeholder (None)."""
    if key not in node or node.get(key) is None:
        return default
    raw = node[key]
    value = parse_count(raw)
    if value is not None:
        return value
    placeholder = placeholder_in(raw)
    note = f"{what} is the unresolved placeholder {placeholder}" if placeholder else f"{what} {raw!r} is not a number"
    if role is not None:
        role.unknowns.append("replicas")
        role.notes.append(note)
    return None


def _template(node: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pod spec, pod metadata) of a PodTemplateSpec ({metadata, spec}) or a bare PodSpec."""
    template = mapping(node)
    if "containers" in template:
        return template, {}
    return mapping(template.get("spec")), mapping(template.get("metadata"))


def _role(name: str | None, template: Any, pods: Quantity) -> Role:
    spec, metadata = _template(template)
    return Role(
        name=name,
        spec=spec,
        pods=pods,
        labels=mapping(metadata.get("labels")),
        annotations=mapping(metadata.get("annotations")),
    )


def _scaled(desired: int | None, low: int | None, high: int | None, factor: int = 1) -> Quantity:
    """Quantity of pods; min/max kept only when they differ from the desired count."""
    def times(value: int | None) -> int | None:
        return None if value is None else value * factor

    if low == desired and high == desired:
        low = high = None
    return Quantity(desired=times(desired), min=times(low), max=times(high))


def roles_of(kind: str, api_version: str, obj: dict[str, Any]) -> list[Role] | None:
    """The pod roles of a workload; None when the kind holds none (Service, ConfigMap, ...)."""
    spec = mapping(obj.get("spec"))
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    if kind == "Pod" and api_version == "v1":
        return [Role(None, spec, Quantity.fixed(1))]
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController") and group in ("apps", "extensions", ""):
        role = _role(None, spec.get("template"), Quantity.fixed(1))
        role.pods = Quantity.fixed(count_field(spec, "replicas", 1, role, "replicas"))
        return [role]
    if kind == "DaemonSet" and group in ("apps", "extensions"):
        role = _role(None, spec.get("template"), Quantity.fixed(None))
        role.notes.append("a DaemonSet runs one pod on every matching node; the node count is not in the manifest")
        return [role]
    if kind == "Job" and group == "batch":
        return [_job_role(spec, None)]
    if kind == "CronJob" and group == "batch":
        job = mapping(mapping(spec.get("jobTemplate")).get("spec"))
        return [_job_role(job, None)]
    if kind == "Job" and group == "batch.volcano.sh":
        return _volcano_tasks(spec)
    replica_specs = [(k, v) for k, v in spec.items() if isinstance(k, str) and k.endswith("ReplicaSpecs") and isinstance(v, dict)]
    if replica_specs:  # Kubeflow training operator: PyTorchJob, TFJob, MPIJob, XGBoostJob, PaddleJob, JAXJob
        roles: list[Role] = []
        for role_name, role_spec in replica_specs[0][1].items():
            role_spec = mapping(role_spec)
            role = _role(str(role_name), role_spec.get("template"), Quantity.fixed(1))
            role.pods = Quantity.fixed(count_field(role_spec, "replicas", 1, role, f"{role_name} replicas"))
            roles.append(role)
        return roles
    if group == "ray.io" and kind in ("RayCluster", "RayJob", "RayService"):
        cluster = spec if kind == "RayCluster" else mapping(spec.get("rayClusterSpec") or spec.get("rayClusterConfig"))
        return _ray_roles(cluster)
    if group == "serving.kserve.io" and kind == "InferenceService":
        return _kserve_roles(spec, obj)
    if group == "serving.kserve.io" and kind == "LLMInferenceService":
        return _llmisvc_roles(spec)
    if group == "leaderworkerset.x-k8s.io" and kind == "LeaderWorkerSet":
        return _lws_roles(spec)
    if kind == "NIMService" and group.endswith("nvidia.com"):
        role = Role(None, _inline_pod(spec, "nim"), Quantity.fixed(1))
        role.pods = Quantity.fixed(count_field(spec, "replicas", 1, role, "replicas"))
        return [role]
    if kind in ("SparkApplication", "ScheduledSparkApplication") and group == "sparkoperator.k8s.io":
        return _spark_roles(mapping(spec.get("template")) if kind == "ScheduledSparkApplication" else spec)
    if kind in NOT_WORKLOADS:
        return None
    return _generic_roles(spec) or None


def _job_role(job: dict[str, Any], name: str | None) -> Role:
    role = _role(name, job.get("template"), Quantity.fixed(1))
    parallelism = count_field(job, "parallelism", 1, role, "parallelism")
    completions = count_field(job, "completions", None, role, "completions")
    pods: int | None = parallelism
    if parallelism is not None and completions is not None:
        pods = min(parallelism, completions)  # never more pods than completions still to go
    if completions is not None and parallelism is not None and completions > parallelism:
        role.notes.append(
            f"completions {completions} > parallelism {parallelism}: the Job runs in waves; "
            "expected hours are its whole run"
        )
    role.pods = Quantity.fixed(pods)
    return role


def _volcano_tasks(spec: dict[str, Any]) -> list[Role]:
    roles: list[Role] = []
    for task in sequence(spec.get("tasks")):
        task = mapping(task)
        role = _role(str(task.get("name") or f"task {len(roles)}"), task.get("template"), Quantity.fixed(1))
        role.pods = Quantity.fixed(count_field(task, "replicas", 1, role, "replicas"))
        roles.append(role)
    return roles


def _ray_roles(cluster: dict[str, Any]) -> list[Role]:
    roles = []
    head = mapping(cluster.get("headGroupSpec"))
    if head:
        roles.append(_role("head", head.get("template"), Quantity.fixed(1)))
    for index, group in enumerate(sequence(cluster.get("workerGroupSpecs"))):
        group = mapping(group)
        name = str(group.get("groupName") or index)
        role = _role(f"worker {name}", group.get("template"), Quantity.fixed(1))
        low = count_field(group, "minReplicas", None, role, "minReplicas")
        high = count_field(group, "maxReplicas", None, role, "maxReplicas")
        replicas = count_field(group, "replicas", low if low is not None else 1, role, "replicas")
        hosts = count_field(group, "numOfHosts", 1, role, "numOfHosts") or 1
        if high is not None and high >= 2**31 - 1:
            high = None  # KubeRay's "unbounded" default
        if hosts > 1:
            role.notes.append(f"numOfHosts {hosts}: each replica is {hosts} pods (a multi-host slice)")
        role.pods = _scaled(replicas, low, high, hosts)
        roles.append(role)
    return roles


def _inline_pod(component: dict[str, Any], default_name: str) -> dict[str, Any]:
    """A pod spec from a CRD that inlines a container's fields next to pod fields (KServe
    components, NIMService): `resources` becomes the container's, scheduling fields stay."""
    pod = {k: v for k, v in component.items() if k in ("nodeSelector", "affinity", "tolerations", "overhead")}
    containers = [c for c in sequence(component.get("containers")) if isinstance(c, dict)]
    if not containers and "resources" in component:
        containers = [{"name": default_name, "resources": component["resources"]}]
    pod["containers"] = containers
    return pod


def _kserve_roles(spec: dict[str, Any], obj: dict[str, Any]) -> list[Role]:
    roles = []
    accelerator = mapping(mapping(obj.get("metadata")).get("annotations")).get("serving.kserve.io/gke-accelerator")
    for component_name in _KSERVE_COMPONENTS:
        component = mapping(spec.get(component_name))
        if not component:
            continue
        pod = _inline_pod(component, component_name)
        for framework in _KSERVE_FRAMEWORKS:
            framework_spec = mapping(component.get(framework))
            if framework_spec:
                pod["containers"] = [*pod["containers"], {"name": framework, "resources": framework_spec.get("resources")}]
                break
        if accelerator and "cloud.google.com/gke-accelerator" not in mapping(pod.get("nodeSelector")):
            # KServe turns this annotation into the node selector of the predictor's pods.
            pod["nodeSelector"] = {**mapping(pod.get("nodeSelector")), "cloud.google.com/gke-accelerator": accelerator}
        role = Role(component_name, pod, Quantity.fixed(1))
        low = count_field(component, "minReplicas", 1, role, "minReplicas")
        high = count_field(component, "maxReplicas", None, role, "maxReplicas")
        desired = low
        if low == 0:
            desired = 1
            role.notes.append("minReplicas 0 (scale to zero): priced at 1 replica while it serves")
        role.pods = _scaled(desired, low, high)
        roles.append(role)
    return roles


def _llmisvc_roles(spec: dict[str, Any]) -> list[Role]:
    roles = []
    if spec.get("template"):
        role = _role(None, spec.get("template"), Quantity.fixed(1))
        role.pods = Quantity.fixed(count_field(spec, "replicas", 1, role, "replicas"))
        roles.append(role)
    if spec.get("worker"):
        role = _role("worker", spec.get("worker"), Quantity.fixed(1))
        role.pods = Quantity.fixed(count_field(spec, "replicas", 1, role, "replicas"))
        roles.append(role)
    prefill = mapping(spec.get("prefill"))
    if prefill.get("template"):
        role = _role("prefill", prefill.get("template"), Quantity.fixed(1))
        role.pods = Quantity.fixed(count_field(prefill, "replicas", 1, role, "prefill replicas"))
        roles.append(role)
    return roles


def _lws_roles(spec: dict[str, Any]) -> list[Role]:
    template = mapping(spec.get("leaderWorkerTemplate"))
    probe = Role(None, {}, Quantity.fixed(1))
    groups = count_field(spec, "replicas", 1, probe, "replicas")
    size = count_field(template, "size", 1, probe, "leaderWorkerTemplate.size")
    roles: list[Role] = []
    if template.get("leaderTemplate"):
        leader = _role("leader", template.get("leaderTemplate"), Quantity.fixed(groups))
        workers = None if groups is None or size is None else groups * (size - 1)
        worker = _role("worker", template.get("workerTemplate"), Quantity.fixed(workers))
        worker.notes.append(f"{groups} groups × {size} pods: 1 leader and {None if size is None else size - 1} workers each")
        roles = [leader, worker] if workers != 0 else [leader]
    else:
        pods = None if groups is None or size is None else groups * size
        worker = _role(f"group of {size}", template.get("workerTemplate"), Quantity.fixed(pods))
        worker.notes.append(f"{groups} groups × {size} pods (replicas × group size)")
        roles = [worker]
    for role in roles:
        role.notes.extend(probe.notes)
        role.unknowns.extend(probe.unknowns)
    return roles


_SPARK_MEMORY = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _spark_memory(value: Any) -> int | None:
    """Spark's JVM sizes ("4g", "512m") in bytes."""
    text = str(value).strip().lower().rstrip("b")
    if text and text[-1] in _SPARK_MEMORY and text[:-1].replace(".", "", 1).isdigit():
        return int(float(text[:-1]) * _SPARK_MEMORY[text[-1]])
    return int(text) if text.isdigit() else None


def _spark_roles(spec: dict[str, Any]) -> list[Role]:
    roles = []
    for role_name in ("driver", "executor"):
        part = mapping(spec.get(role_name))
        if not part:
            continue
        cpu = part.get("coreRequest") or part.get("cores") or 1
        memory = _spark_memory(part.get("memory") or "1g") or (1 << 30)
        overhead = _spark_memory(part.get("memoryOverhead")) if part.get("memoryOverhead") else max(384 << 20, memory // 10)
        requests: dict[str, Any] = {"cpu": cpu, "memory": (memory + (overhead or 0))}
        gpu = mapping(part.get("gpu"))
        if gpu.get("name"):
            requests[str(gpu["name"])] = gpu.get("quantity", 1)
        pod: dict[str, Any] = {
            "containers": [{"name": f"spark-{role_name}", "resources": {"requests": requests}}],
            "nodeSelector": {**mapping(spec.get("nodeSelector")), **mapping(part.get("nodeSelector"))},
            "tolerations": sequence(part.get("tolerations")),
            "affinity": part.get("affinity"),
        }
        role = Role(role_name, pod, Quantity.fixed(1), labels=mapping(part.get("labels")), annotations=mapping(part.get("annotations")))
        if role_name == "executor":
            role.pods = Quantity.fixed(count_field(part, "instances", 1, role, "executor instances"))
        role.notes.append(f"Spark {role_name}: memory + overhead = {(memory + (overhead or 0)) / (1 << 30):.3g} GiB per pod")
        roles.append(role)
    return roles


def _generic_roles(spec: dict[str, Any]) -> list[Role]:
    """Pod templates anywhere under `spec` (a dict with a `containers` list), each with the nearest
    `replicas` of the dicts around it (1 when there is none, said so)."""
    found: list[Role] = []

    def walk(node: Any, path: list[str], parents: list[dict[str, Any]], depth: int) -> None:
        if depth > 8:
            return
        if isinstance(node, dict):
            containers = node.get("containers")
            if isinstance(containers, list) and any(isinstance(c, dict) for c in containers):
                where = ".".join(path)
                name = where.removesuffix(".spec").removesuffix(".template").removesuffix(".podTemplate")
                role = Role(name or None, node, Quantity.fixed(1))
                holder = next((p for p in reversed(parents) if "replicas" in p), None)
                if holder is None:
                    role.notes.append(f"read generically: pod template at spec.{where}; no replicas field, so 1 pod")
                else:
                    role.pods = Quantity.fixed(count_field(holder, "replicas", 1, role, "replicas"))
                    role.notes.append(f"read generically: pod template at spec.{where}")
                if len(path) >= 2 and path[-1] == "spec" and isinstance(parents[-1].get("metadata"), dict):
                    metadata = mapping(parents[-1].get("metadata"))
                    role.labels = mapping(metadata.get("labels"))
                    role.annotations = mapping(metadata.get("annotations"))
                found.append(role)
                return
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    walk(value, [*path, str(key)], [*parents, node], depth + 1)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    walk(value, [*path[:-1], f"{path[-1] if path else ''}[{index}]"], parents, depth + 1)

    walk(spec, [], [], 0)
    # A replicas field four levels up is not this template's: keep the nearest enclosing ones only.
    return found
