"""Reading manifests: every kind, multi-document files, Lists, Helm output, addresses, labels,
waivers, workload classes, placeholders and errors. Pricing is in test_k8s_pricing.py."""

from __future__ import annotations

import pytest
from k8s_helpers import container, deployment, one, read, write
from tollgate.engine.errors import InputError
from tollgate.engine.kubernetes.reader import (
    read_manifest_bytes,
    requests_from_documents,
)
from tollgate.engine.model import CapacityUnit, Provider, PurchaseOption, WorkloadClass

# --- core kinds ------------------------------------------------------------------------------------


def test_pod_is_one_pod_with_its_containers_summed(tmp_path):
    request = one(
        tmp_path,
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: shop}
        spec:
          containers:
            - {name: app, image: a, resources: {requests: {cpu: 500m, memory: 256Mi}}}
            - {name: proxy, image: b, resources: {requests: {cpu: "1.5", memory: 1Gi}}}
        """,
    )
    assert (request.address, request.kind, request.namespace) == ("Pod/shop/web", "Pod", "shop")
    assert request.quantity.desired == 1
    assert request.pod is not None
    assert request.pod.cpu == 2.0
    assert request.pod.memory_gib == pytest.approx(1.25)
    assert request.pod.gpus == 0
    assert request.component is None  # two containers: no single name to show
    assert request.source.line == 2  # the line of `kind:`


def test_deployment_replicas_and_the_namespace_default(tmp_path):
    request = one(tmp_path, deployment(container(requests="cpu: 2, memory: 4Gi"), replicas=3))
    assert request.address == "Deployment/default/app"
    assert request.namespace == "default"
    assert request.quantity.desired == 3
    assert request.component == "main"
    assert request.workload_class is WorkloadClass.ONLINE
    assert request.workload_class_reason == "kind Deployment serves continuously"


def test_deployment_without_replicas_runs_one_pod(tmp_path):
    text = deployment(container(requests="cpu: 1")).replace("  replicas: 1\n", "")
    assert one(tmp_path, text).quantity.desired == 1


def test_statefulset_and_replicaset_count_replicas(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: db}
        spec:
          replicas: 5
          template:
            spec:
              containers: [{name: db, image: x, resources: {requests: {cpu: 1, memory: 2Gi}}}]
        ---
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata: {name: rs}
        spec:
          replicas: 2
          template:
            spec:
              containers: [{name: web, image: x, resources: {requests: {cpu: 1}}}]
        """,
    )
    assert [(r.address, r.quantity.desired) for r in requests] == [("StatefulSet/default/db", 5), ("ReplicaSet/default/rs", 2)]
    assert [r.source.line for r in requests] == [2, 11]


def test_daemonset_pod_count_is_unknown_and_said_so(tmp_path):
    request = one(
        tmp_path,
        """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: agent, namespace: kube-system}
        spec:
          template:
            spec:
              containers: [{name: agent, image: x, resources: {requests: {cpu: 100m, memory: 128Mi}}}]
        """,
    )
    assert request.quantity.desired is None
    assert any("one pod on every matching node" in n for n in request.notes)


def test_init_containers_count_as_their_maximum_and_sidecars_add(tmp_path):
    request = one(
        tmp_path,
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          initContainers:
            - {name: migrate, image: x, resources: {requests: {cpu: "4", memory: 1Gi}}}
            - {name: log-shipper, image: x, restartPolicy: Always, resources: {requests: {cpu: 500m, memory: 512Mi}}}
            - {name: warmup, image: x, resources: {requests: {cpu: "1", memory: 8Gi}}}
          containers:
            - {name: app, image: x, resources: {requests: {cpu: "2", memory: 2Gi}}}
        """,
    )
    assert request.pod is not None
    # cpu: max(app 2 + sidecar 0.5, migrate 4, warmup 1 + sidecar 0.5) = 4
    assert request.pod.cpu == 4.0
    # memory: max(2 + 0.5, 1, 8 + 0.5) = 8.5 GiB
    assert request.pod.memory_gib == pytest.approx(8.5)


def test_limits_stand_in_for_missing_requests(tmp_path):
    request = one(tmp_path, deployment(container(limits="cpu: 3, memory: 6Gi, nvidia.com/gpu: 1")))
    assert request.pod is not None
    assert (request.pod.cpu, request.pod.memory_gib, request.pod.gpus) == (3.0, 6.0, 1.0)
    assert request.pod.gpu_resource == "nvidia.com/gpu"


def test_job_pods_are_parallelism_capped_by_completions(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: wide}
        spec:
          parallelism: 8
          completions: 3
          template:
            spec:
              containers: [{name: w, image: x, resources: {requests: {cpu: 1}}}]
              restartPolicy: Never
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: waves}
        spec:
          parallelism: 2
          completions: 10
          template:
            spec:
              containers: [{name: w, image: x, resources: {requests: {cpu: 1}}}]
              restartPolicy: Never
        ---
        apiVersion: batch/v1
        kind: Job
        metadata: {name: single}
        spec:
          template:
            spec:
              containers: [{name: w, image: x, resources: {requests: {cpu: 1}}}]
              restartPolicy: Never
        """,
    )
    assert [r.quantity.desired for r in requests] == [3, 2, 1]
    assert any("runs in waves" in n for n in requests[1].notes)
    assert all(r.workload_class is WorkloadClass.BATCH for r in requests)


def test_cronjob_reads_its_job_template(tmp_path):
    request = one(
        tmp_path,
        """
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: nightly, namespace: etl}
        spec:
          schedule: "0 3 * * *"
          jobTemplate:
            spec:
              parallelism: 2
              template:
                spec:
                  containers: [{name: etl, image: x, resources: {requests: {cpu: 2, memory: 4Gi}}}]
                  restartPolicy: OnFailure
        """,
    )
    assert (request.address, request.quantity.desired) == ("CronJob/etl/nightly", 2)
    assert request.workload_class is WorkloadClass.BATCH
    assert request.hours_per_month_override == pytest.approx(30.4375)  # 1 h x 1461/48 runs


# --- ML CRDs ---------------------------------------------------------------------------------------


def test_pytorchjob_has_one_request_per_replica_type(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: kubeflow.org/v1
        kind: PyTorchJob
        metadata: {name: bert, namespace: ml}
        spec:
          pytorchReplicaSpecs:
            Master:
              replicas: 1
              template:
                spec:
                  containers: [{name: pytorch, image: x, resources: {limits: {nvidia.com/gpu: 1}}}]
            Worker:
              replicas: 3
              template:
                spec:
                  containers: [{name: pytorch, image: x, resources: {limits: {nvidia.com/gpu: 2}}}]
        """,
    )
    assert [(r.address, r.component, r.quantity.desired, r.pod.gpus if r.pod else None) for r in requests] == [
        ("PyTorchJob/ml/bert", "Master", 1, 1.0),
        ("PyTorchJob/ml/bert", "Worker", 3, 2.0),
    ]
    assert all(r.workload_class is WorkloadClass.BATCH for r in requests)


def test_tfjob_and_mpijob_replica_specs(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: kubeflow.org/v1
        kind: TFJob
        metadata: {name: tf}
        spec:
          tfReplicaSpecs:
            PS: {replicas: 2, template: {spec: {containers: [{name: t, image: x, resources: {requests: {cpu: 4}}}]}}}
            Worker: {replicas: 4, template: {spec: {containers: [{name: t, image: x, resources: {limits: {nvidia.com/gpu: 1}}}]}}}
        ---
        apiVersion: kubeflow.org/v2beta1
        kind: MPIJob
        metadata: {name: mpi}
        spec:
          mpiReplicaSpecs:
            Launcher: {replicas: 1, template: {spec: {containers: [{name: l, image: x, resources: {limits: {cpu: 1}}}]}}}
            Worker: {replicas: 8, template: {spec: {containers: [{name: w, image: x, resources: {limits: {nvidia.com/gpu: 8}}}]}}}
        """,
    )
    assert [(r.kind, r.component, r.quantity.desired) for r in requests] == [
        ("TFJob", "PS", 2),
        ("TFJob", "Worker", 4),
        ("MPIJob", "Launcher", 1),
        ("MPIJob", "Worker", 8),
    ]
    assert {r.workload_class for r in requests} == {WorkloadClass.BATCH}


def test_raycluster_head_and_worker_groups_with_hosts_and_bounds(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: ray.io/v1
        kind: RayCluster
        metadata: {name: rc}
        spec:
          headGroupSpec:
            template:
              spec:
                containers: [{name: ray-head, image: x, resources: {requests: {cpu: 4, memory: 16Gi}}}]
          workerGroupSpecs:
            - groupName: gpu
              replicas: 2
              minReplicas: 1
              maxReplicas: 6
              template:
                spec:
                  containers: [{name: w, image: x, resources: {limits: {nvidia.com/gpu: 4}}}]
            - groupName: tpu
              replicas: 1
              minReplicas: 1
              maxReplicas: 1
              numOfHosts: 4
              template:
                spec:
                  containers: [{name: w, image: x, resources: {limits: {google.com/tpu: 4}}}]
        """,
    )
    assert [(r.component, r.quantity.desired, r.quantity.min, r.quantity.max) for r in requests] == [
        ("head", 1, None, None),
        ("worker gpu", 2, 1, 6),
        ("worker tpu", 4, None, None),  # 1 replica x 4 hosts; min = max = desired is a fixed size
    ]
    assert requests[0].workload_class is WorkloadClass.UNKNOWN  # a RayCluster can serve or train


def test_rayjob_is_batch_and_rayservice_online(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: ray.io/v1
        kind: RayJob
        metadata: {name: job}
        spec:
          rayClusterSpec:
            headGroupSpec:
              template: {spec: {containers: [{name: h, image: x, resources: {limits: {nvidia.com/gpu: 1}}}]}}
        ---
        apiVersion: ray.io/v1
        kind: RayService
        metadata: {name: svc}
        spec:
          rayClusterConfig:
            headGroupSpec:
              template: {spec: {containers: [{name: h, image: x, resources: {requests: {cpu: 2}}}]}}
        """,
    )
    assert [(r.kind, r.workload_class) for r in requests] == [("RayJob", WorkloadClass.BATCH), ("RayService", WorkloadClass.ONLINE)]


def test_inferenceservice_framework_resources_replicas_and_gke_accelerator_annotation(tmp_path):
    request = one(
        tmp_path,
        """
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata:
          name: llm
          annotations: {serving.kserve.io/gke-accelerator: nvidia-l4}
        spec:
          predictor:
            minReplicas: 2
            maxReplicas: 5
            model:
              modelFormat: {name: huggingface}
              resources: {limits: {cpu: "6", memory: 24Gi, nvidia.com/gpu: "1"}}
        """,
    )
    assert (request.component, request.quantity.desired, request.quantity.min, request.quantity.max) == ("predictor", 2, 2, 5)
    assert request.pod is not None and request.pod.gpus == 1.0 and request.pod.cpu == 6.0
    assert request.pod.gpu_model == "L4"
    assert request.provider is Provider.GCP
    assert request.workload_class is WorkloadClass.ONLINE


def test_leaderworkerset_is_replicas_times_group_size(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: leaderworkerset.x-k8s.io/v1
        kind: LeaderWorkerSet
        metadata: {name: vllm}
        spec:
          replicas: 2
          leaderWorkerTemplate:
            size: 4
            workerTemplate:
              spec:
                containers: [{name: vllm, image: x, resources: {limits: {nvidia.com/gpu: 8}}}]
        ---
        apiVersion: leaderworkerset.x-k8s.io/v1
        kind: LeaderWorkerSet
        metadata: {name: split}
        spec:
          replicas: 3
          leaderWorkerTemplate:
            size: 2
            leaderTemplate:
              spec:
                containers: [{name: leader, image: x, resources: {requests: {cpu: 4}}}]
            workerTemplate:
              spec:
                containers: [{name: worker, image: x, resources: {limits: {nvidia.com/gpu: 8}}}]
        """,
    )
    assert [(r.address, r.component, r.quantity.desired) for r in requests] == [
        ("LeaderWorkerSet/default/vllm", "group of 4", 8),
        ("LeaderWorkerSet/default/split", "leader", 3),
        ("LeaderWorkerSet/default/split", "worker", 3),
    ]
    assert {r.workload_class for r in requests} == {WorkloadClass.ONLINE}


def test_kaito_workspace_is_instance_type_times_count(tmp_path):
    request = one(
        tmp_path,
        """
        apiVersion: kaito.sh/v1alpha1
        kind: Workspace
        metadata: {name: falcon}
        resource:
          count: 2
          instanceType: Standard_NC24ads_A100_v4
          labelSelector: {matchLabels: {apps: falcon}}
        inference:
          preset: {name: falcon-40b}
        """,
    )
    assert (request.instance_type, request.quantity.desired) == ("Standard_NC24ads_A100_v4", 2)
    assert request.provider is Provider.AZURE
    assert request.pod is None  # whole nodes: KAITO provisions them
    assert (request.workload_class, request.workload_class_reason) == (WorkloadClass.ONLINE, "KAITO Workspace with inference")


def test_karpenter_nodepool_requirements_capacity_and_cpu_limit(tmp_path):
    request = one(
        tmp_path,
        """
        apiVersion: karpenter.sh/v1
        kind: NodePool
        metadata: {name: gpu}
        spec:
          template:
            spec:
              nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
              requirements:
                - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
                - {key: karpenter.k8s.aws/instance-family, operator: In, values: [g5]}
          limits:
            cpu: "192"
            nvidia.com/gpu: 16
        """,
    )
    assert request.address == "NodePool/gpu"  # cluster-scoped
    assert request.provider is Provider.AWS
    assert request.purchase_option is PurchaseOption.SPOT
    assert "launches spot first" in (request.purchase_reason or "")
    assert request.quantity.unit is CapacityUnit.VCPUS
    assert (request.quantity.desired, request.quantity.max) == (0, 192)
    assert [r.key for r in request.node_requirements] == ["karpenter.sh/capacity-type", "karpenter.k8s.aws/instance-family"]
    assert any("limits.nvidia.com/gpu 16" in n for n in request.notes)


def test_unknown_crd_with_a_pod_template_is_read_generically(tmp_path):
    request = one(
        tmp_path,
        """
        apiVersion: example.com/v1
        kind: ModelServer
        metadata: {name: ms}
        spec:
          serving:
            replicas: 3
            template:
              metadata: {labels: {team: ml}}
              spec:
                containers: [{name: s, image: x, resources: {limits: {nvidia.com/gpu: 2}}}]
        """,
    )
    assert (request.kind, request.quantity.desired) == ("ModelServer", 3)
    assert request.pod is not None and request.pod.gpus == 2.0
    assert request.tags["team"] == "ml"
    assert any("read generically" in n for n in request.notes)


def test_non_workloads_and_non_kubernetes_yaml_are_not_requests(tmp_path):
    assert read(
        tmp_path,
        """
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec: {ports: [{port: 80}]}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c}
        data: {a: b}
        ---
        name: ci
        on: [push]
        jobs: {}
        ---
        # only a comment
        ---
        - a plain list
        """,
    ) == []


# --- files: multi-document, List, Helm ------------------------------------------------------------


def test_list_items_are_read_with_their_own_lines(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: v1
        kind: List
        items:
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {name: a}
            spec:
              template: {spec: {containers: [{name: a, image: x, resources: {requests: {cpu: 1}}}]}}
          - apiVersion: v1
            kind: Service
            metadata: {name: s}
          - apiVersion: batch/v1
            kind: Job
            metadata: {name: b}
            spec:
              template: {spec: {containers: [{name: b, image: x, resources: {requests: {cpu: 1}}}], restartPolicy: Never}}
        """,
    )
    assert [(r.address, r.source.line) for r in requests] == [("Deployment/default/a", 5), ("Job/default/b", 13)]


def test_helm_rendered_output_notes_the_template_each_request_came_from(tmp_path):
    requests = read(
        tmp_path,
        """
        ---
        # Source: shop/templates/service.yaml
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        ---
        # Source: shop/templates/deployment.yaml
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          labels: {helm.sh/chart: shop-1.2.0}
        spec:
          replicas: 2
          template:
            spec:
              containers: [{name: web, image: x, resources: {requests: {cpu: 1}}}]
        """,
    )
    [request] = requests
    assert request.source.line == 9
    assert "rendered by Helm from shop/templates/deployment.yaml" in request.notes
    assert request.tags["helm.sh/chart"] == "shop-1.2.0"


def test_invalid_yaml_is_an_input_error_with_the_line_in_the_file(tmp_path):
    path = write(
        tmp_path,
        """
        apiVersion: v1
        kind: Service
        metadata: {name: ok}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: broken
            labels: {a: b}
        """,
    )
    from tollgate.engine.kubernetes.reader import read_manifest_requests

    with pytest.raises(InputError) as raised:
        read_manifest_requests(str(path), None)
    message = str(raised.value)
    assert message.startswith(f"{path}: invalid YAML at line 9:"), message  # the `labels:` line


def test_unreadable_and_non_utf8_files_are_input_errors(tmp_path):
    from tollgate.engine.kubernetes.reader import read_manifest_requests

    with pytest.raises(InputError, match="cannot be read"):
        read_manifest_requests(str(tmp_path / "missing.yaml"), None)
    with pytest.raises(InputError, match="not UTF-8"):
        read_manifest_bytes(b"kind: Pod\nmetadata: {name: \xff}\n", "bad.yaml", None)


def test_bytes_and_parsed_objects_for_the_admission_webhook():
    data = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x, resources: {limits: {nvidia.com/gpu: 1}}}]\n"
    [from_bytes] = read_manifest_bytes(data, "admission", None)
    assert (from_bytes.address, from_bytes.source.line) == ("Pod/default/p", 2)
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ml"}, "spec": {"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": 2}}}]}}
    [from_object] = requests_from_documents([obj], "admission:ml/p", None)
    assert from_object.address == "Pod/ml/p"
    assert from_object.source.line is None
    assert from_object.pod is not None and from_object.pod.gpus == 2.0


def test_utf16_and_bom_files_read(tmp_path):
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x, resources: {requests: {cpu: 1}}}]}\n"
    for encoding in ("utf-8-sig", "utf-16"):
        [request] = read_manifest_bytes(text.encode(encoding), "x.yaml", None)
        assert request.address == "Pod/default/p"


# --- labels, waivers, classes, placeholders ----------------------------------------------------------


def test_labels_of_the_workload_and_its_pods_are_tags(tmp_path):
    request = one(
        tmp_path,
        deployment(container(requests="cpu: 1"), metadata_extra="\n  labels: {team: ml, cost-center: CC-1234}"),
    )
    assert request.tags == {"app": "app", "team": "ml", "cost-center": "CC-1234"}


def test_annotation_waivers_become_annotation_waivers_with_the_reason(tmp_path):
    request = one(
        tmp_path,
        deployment(
            container(limits="nvidia.com/gpu: 8"),
            metadata_extra='\n  annotations:\n    tollgate.dev/ignore: "gpu-types, spot-for-batch"\n    tollgate.dev/ignore-reason: "benchmark until OPS-42"',
        ),
    )
    assert [(w.policy_id, w.reason, w.source, w.line) for w in request.waivers] == [
        ("gpu-types", "benchmark until OPS-42", "annotation", 2),
        ("spot-for-batch", "benchmark until OPS-42", "annotation", 2),
    ]
    assert request.waivers[0].file.endswith("manifest.yaml")


def test_annotation_waiver_without_a_reason_keeps_reason_none(tmp_path):
    request = one(tmp_path, deployment(container(requests="cpu: 1"), metadata_extra='\n  annotations: {tollgate.dev/ignore: budget}'))
    assert [(w.policy_id, w.reason) for w in request.waivers] == [("budget", None)]


def test_workload_class_label_overrides_the_kind(tmp_path):
    request = one(
        tmp_path,
        deployment(container(limits="nvidia.com/gpu: 1"), metadata_extra="\n  labels: {tollgate.dev/workload-class: batch}"),
    )
    assert (request.workload_class, request.workload_class_reason) == (WorkloadClass.BATCH, "label tollgate.dev/workload-class=batch")
    job = one(
        tmp_path,
        """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: j, labels: {tollgate.dev/workload-class: online}}
        spec:
          template: {spec: {containers: [{name: c, image: x, resources: {requests: {cpu: 1}}}], restartPolicy: Never}}
        """,
    )
    assert job.workload_class is WorkloadClass.ONLINE


def test_bare_pod_class_follows_its_restart_policy(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: once}
        spec: {restartPolicy: Never, containers: [{name: c, image: x, resources: {requests: {cpu: 1}}}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: forever}
        spec: {containers: [{name: c, image: x, resources: {requests: {cpu: 1}}}]}
        """,
    )
    assert [r.workload_class for r in requests] == [WorkloadClass.BATCH, WorkloadClass.UNKNOWN]
    assert requests[0].hours_per_month_override == 1.0 and requests[1].hours_per_month_override is None


def test_placeholders_in_priced_values_are_unknown_and_reported(tmp_path):
    request = one(
        tmp_path,
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: tpl}
        spec:
          replicas: "{{ .Values.replicas }}"
          template:
            spec:
              nodeSelector:
                cloud.google.com/gke-accelerator: ${GPU_TYPE}
                node.kubernetes.io/instance-type: <INSTANCE_TYPE>
              containers:
                - name: c
                  image: $IMAGE
                  resources: {limits: {nvidia.com/gpu: "${GPUS}", cpu: "4"}}
        """,
    )
    assert set(request.unknowns) >= {"replicas", "gpu_model", "instance_type", "gpus"}
    assert request.quantity.desired is None
    assert request.pod is not None and request.pod.gpus is None and request.pod.cpu == 4.0
    assert request.instance_type is None
    notes = " | ".join(request.notes)
    for placeholder in ("{{ .Values.replicas }}", "${GPU_TYPE}", "<INSTANCE_TYPE>", "${GPUS}"):
        assert placeholder in notes
    assert "$IMAGE" not in notes  # the image is not used for pricing


def test_generate_name_is_shown_with_a_wildcard(tmp_path):
    request = one(
        tmp_path,
        """
        apiVersion: batch/v1
        kind: Job
        metadata: {generateName: sweep-, namespace: ml}
        spec:
          template: {spec: {containers: [{name: c, image: x, resources: {requests: {cpu: 1}}}], restartPolicy: Never}}
        """,
    )
    assert request.address == "Job/ml/sweep-*"


def test_cluster_profile_gives_provider_region_and_pools(tmp_path):
    request = one(
        tmp_path,
        deployment(container(requests="cpu: 1")),
        cluster={"provider": "aws", "region": "us-west-2", "node_pools": [{"name": "general", "instance_types": ["m5.xlarge"]}]},
    )
    assert (request.provider, request.region) == (Provider.AWS, "us-west-2")
    assert request.region_source == "cluster profile (tollgate.yaml cluster:)"
    assert request.pod is not None and [p.name for p in request.pod.node_pools] == ["general"]


def test_without_a_profile_the_cloud_and_region_come_from_node_labels(tmp_path):
    request = one(
        tmp_path,
        deployment(
            container(requests="cpu: 1"),
            pod_extra="\n      nodeSelector: {eks.amazonaws.com/capacityType: SPOT, topology.kubernetes.io/zone: eu-west-1b}",
        ),
    )
    assert (request.provider, request.region, request.zone) == (Provider.AWS, "eu-west-1b", "eu-west-1b")
    assert request.region_source == "nodeSelector topology.kubernetes.io/zone"
    assert request.purchase_option is PurchaseOption.SPOT


def test_requests_pickle_for_the_parse_cache(tmp_path):
    import pickle

    requests = read(tmp_path, deployment(container(limits="nvidia.com/gpu: 1"), pod_extra="\n      nodeSelector: {cloud.google.com/gke-accelerator: nvidia-l4}"))
    assert pickle.loads(pickle.dumps(requests)) == requests


def test_volcano_job_tasks_are_roles_and_batch(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: batch.volcano.sh/v1alpha1
        kind: Job
        metadata: {name: mpi}
        spec:
          minAvailable: 3
          tasks:
            - name: master
              replicas: 1
              template: {spec: {containers: [{name: m, image: x, resources: {requests: {cpu: 1}}}]}}
            - name: worker
              replicas: 2
              template: {spec: {containers: [{name: w, image: x, resources: {limits: {nvidia.com/gpu: 1}}}]}}
        """,
    )
    assert [(r.component, r.quantity.desired) for r in requests] == [("master", 1), ("worker", 2)]
    assert all(r.workload_class is WorkloadClass.BATCH and r.hours_per_month_override == 1.0 for r in requests)


def test_generic_crd_pod_templates_inside_lists_take_their_own_replicas(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: example.com/v1
        kind: Pipeline
        metadata: {name: p}
        spec:
          stages:
            - name: prep
              replicas: 2
              template: {spec: {containers: [{name: a, image: x, resources: {requests: {cpu: 1}}}]}}
            - name: train
              template: {spec: {containers: [{name: b, image: x, resources: {limits: {nvidia.com/gpu: 4}}}]}}
        """,
    )
    assert [(r.component, r.quantity.desired) for r in requests] == [("stages[0]", 2), ("stages[1]", 1)]
    assert any("no replicas field, so 1 pod" in n for n in requests[1].notes)


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("1e400", "'1e400' is out of range for a Kubernetes quantity"),
        ("1e-99999999", "'1e-99999999' is out of range for a Kubernetes quantity"),  # never expanded into a huge integer
        ("'" + "9" * 5000 + "'", "'" + "9" * 39 + "… is out of range for a Kubernetes quantity"),  # quoted cut short
        (".inf", "inf is not a quantity"),
        ("100000000000000000000000", "100000000000000000000000 is out of range for a Kubernetes quantity"),
    ],
    ids=["1e400", "tiny exponent", "5000 digits", "infinity", "above int64"],
)
def test_an_absurd_quantity_leaves_the_memory_unknown_with_the_reason(tmp_path, written, problem):
    request = one(tmp_path, deployment(container(requests=f"cpu: '1', memory: {written}")))
    assert "memory" in request.unknowns
    assert request.pod is not None and request.pod.memory_gib is None and request.pod.cpu == 1.0
    assert any(note.endswith(f"memory: {problem}") for note in request.notes), request.notes
