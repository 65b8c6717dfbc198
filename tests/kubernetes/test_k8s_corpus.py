"""Every manifest in ../shared/corpus/k8s reads without an exception, and the facts below, checked
by reading the files, come out of them: kinds, pod counts, GPUs, spot, the `${GPU_TYPE}` and
`${ACCELERATOR_QUANTITY}` placeholders, Helm-rendered files. Prices are checked by hand against
../shared/pricing/prices.csv for the files that name a GPU model or an instance type."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from tollgate.engine.kubernetes.reader import read_manifest_requests
from tollgate.engine.model import (
    ComputeRequest,
    Provider,
    PurchaseOption,
    WorkloadClass,
)
from tollgate.engine.pricing import price_requests

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "k8s"
FILES = sorted(CORPUS.glob("*/*.yaml")) if CORPUS.is_dir() else []
REGIONS = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}


def requests_of(name: str) -> list[ComputeRequest]:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/k8s is not present")
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"../shared/corpus/k8s has no {name}")
    return read_manifest_requests(str(path), None)


def test_the_corpus_is_there_or_skipped():
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/k8s is not present")
    assert len(FILES) >= 70


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_every_corpus_file_reads_and_prices_without_an_exception(path, catalog):
    requests = read_manifest_requests(str(path), None)
    for request in requests:
        assert request.source.file == str(path)
        assert request.source.line is not None and request.source.line >= 1
        assert request.address.startswith(f"{request.kind}/")
    for item in price_requests(requests, catalog, REGIONS):
        # Never silently $0: a request is either priced or says why not.
        assert (item.after.hourly is None) == (item.after.unpriced_reason is not None) or item.request.quantity.desired == 0


def summary(requests: list[ComputeRequest]) -> list[tuple[str, str | None, int | None, float | None]]:
    return [(r.address, r.component, r.quantity.desired, r.pod.gpus if r.pod else None) for r in requests]


# (file, [(address, component, pods, GPUs per pod)]) read off the manifests by hand.
GPU_WORKLOADS = [
    ("aws/ai-on-eks_jupyterhub-timeslicing-test.yaml", [("Deployment/default/time-slicing-verification", "cuda-sample-vector-add", 2, 1.0)]),
    ("aws/ai-on-eks_nim-service-llama3-8b.yaml", [("NIMService/nim-service/meta-llama3-8b-instruct", "nim", 1, 2.0)]),
    ("aws/ai-on-eks_nvidia-smi-karpenter-test.yaml", [("Pod/nvidia-smi-ns/nvidia-smi-al2-karpenter", "nvidia-smi", 1, 1.0)]),
    ("aws/ai-on-eks_ray-service-vllm.yaml", [("RayService/rayserve-vllm/vllm", "head", 1, 0.0), ("RayService/rayserve-vllm/vllm", "worker gpu-group", 1, 1.0)]),
    ("aws/data-on-eks_spark-rapids-app-gpus.yaml", [("SparkApplication/spark-team-a/spark-rapids-yunikorn", "driver", 1, 0.0), ("SparkApplication/spark-team-a/spark-rapids-yunikorn", "executor", 1, 1.0)]),
    ("aws/karpenter_workload_gpu-amd.yaml", [("Deployment/default/gpu-amd", "gpu-amd", 0, 1.0)]),
    ("azure/aks-kueue_team-b-job-high.yaml", [("Job/team-b/team-b-job-high", "gpu-workload", 1, 4.0)]),
    ("azure/kaito_preset_falcon-40b_vllm_deployment.yaml", [("Deployment/default/falcon-40b", "falcon-container", 1, 2.0)]),
    ("azure/kaito_preset_llama-2-13b_statefulset.yaml", [("StatefulSet/default/llama-2-13b", "llama-container", 2, 1.0)]),
    ("azure/karpenter-azure_workload_samples-mnist.yaml", [("Job/default/samples-tf-mnist-demo", "samples-tf-mnist-demo", 1, 1.0)]),
    ("gcp/ai-on-gke_standard-tf-mnist-train.yaml", [("Job/default/mnist-training-job", "tensorflow", 1, 1.0)]),
    ("gcp/kes_kueue-intro-job-team-a.yaml", [("Job/team-a/sample-job-team-a-*", "dummy-job", 3, 1.0)]),
    ("gcp/kes_llm-finetuning-gemma-job.yaml", [("Job/default/finetune-job", "finetuner", 1, 8.0)]),
    ("gcp/kes_rayserve-llama2-70b.yaml", [("RayService/default/rayllm", "head", 1, 0.0), ("RayService/default/rayllm", "worker gpu-group", 1, 2.0)]),
    ("gcp/kes_tgi-falcon-40b-l4-spot.yaml", [("Deployment/default/llm", "llm", 1, 2.0)]),
    ("gcp/kes_tgi-gemma-2-27b-it.yaml", [("Deployment/default/tgi-gemma-deployment", "inference-server", 1, 4.0)]),
    ("gcp/kes_triton-single-gpu.yaml", [("Deployment/default/triton-deployment", "triton-server", 1, 1.0)]),
    ("gcp/kes_verl-ray-cluster-auto-spot.yaml", [("RayCluster/default/b200-ray-cluster", "head", 1, 0.0), ("RayCluster/default/b200-ray-cluster", "worker gpu-group", 2, 8.0)]),
    ("gcp/kes_vit-training-statefulset-gcs.yaml", [("StatefulSet/example/tensorflow", "tensorflow-container", 1, 1.0)]),
    ("gcp/kes_vllm-gemma-2b-it-a100-40gb.yaml", [("Deployment/default/vllm-gemma-deployment", "inference-server", 1, 1.0)]),
    ("gcp/kuberay_ray-cluster.tpu-v6e-16-multihost.yaml", [("RayCluster/default/raycluster-tpu-v6e-multihost", "head", 1, 0.0), ("RayCluster/default/raycluster-tpu-v6e-multihost", "worker tpu-group", 4, 4.0)]),
    ("gcp/kuberay_ray-job.batch-inference.yaml", [("RayJob/default/rayjob-sample", "head", 1, 4.0)]),
    ("generic/gpu-operator_tests_gpu-pod.yaml", [("Pod/default/gpu-operator-test", "cuda-vector-add", 1, 1.0)]),
    ("generic/gpu-operator_tests_plugin-test.yaml", [("Deployment/default/nvidia-plugin-test", "nvidia-plugin-test-ctr", 5, 1.0)]),
    ("generic/kserve_accelerators_tensorflow-gpu.yaml", [("InferenceService/default/tensorflow-gpu", "predictor", 1, 1.0)]),
    ("generic/kserve_llmisvc_qwen2-7b-gpu.yaml", [("LLMInferenceService/default/qwen2-7b-instruct-single", "main", 3, 1.0)]),
    ("generic/kserve_torchserve_v1_gpu.yaml", [("InferenceService/default/torchserve-gpu", "predictor", 1, 1.0)]),
    ("generic/kuberay_ray-service.deepseek.yaml", [("RayService/default/deepseek-r1", "head", 1, 0.0), ("RayService/default/deepseek-r1", "worker gpu-group", 2, 8.0)]),
    ("generic/kuberay_ray-service.llm-serve.yaml", [("RayService/default/ray-serve-llm", "head", 1, 0.0), ("RayService/default/ray-serve-llm", "worker gpu-group", 1, 4.0)]),
    ("generic/kueue_provisioning_sample-job.yaml", [("Job/default/sample-job-*", "dummy-job", 3, 1.0)]),
    ("generic/kueue_serving_sample-hami.yaml", [("Deployment/kueue-test/gpu-burn", "main", 1, 2.0)]),
    ("generic/nvidia-device-plugin_testdata_job-1.yaml", [("Job/default/j-e2e-1", "cuda-container", 1, 1.0)]),
    ("generic/training-operator_pytorchjob_mnist_nccl.yaml", [("PyTorchJob/default/pytorch-dist-mnist-nccl", "Master", 1, 1.0), ("PyTorchJob/default/pytorch-dist-mnist-nccl", "Worker", 1, 1.0)]),
]


@pytest.mark.parametrize(("name", "expected"), GPU_WORKLOADS, ids=[n for n, _ in GPU_WORKLOADS])
def test_gpu_workloads_pods_and_gpus(name, expected):
    assert summary(requests_of(name)) == expected


def test_gpu_totals_per_cloud_folder():
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/k8s is not present")
    totals: dict[str, float] = {}
    tpus = 0.0
    for path in FILES:
        for request in read_manifest_requests(str(path), None):
            pod = request.pod
            if pod is None or not pod.gpus or request.quantity.desired is None:
                continue
            if pod.gpu_resource == "google.com/tpu":
                tpus += pod.gpus * request.quantity.desired
            else:
                totals[path.parent.name] = totals.get(path.parent.name, 0) + pod.gpus * request.quantity.desired
    # aws 2+2+1+1+1 (+0: the AMD Deployment has 0 replicas); azure 4+2+2+1; gcp 1+3+8+2+2+4+1+16+1+1+4;
    # generic 1+5+1+3+1+16+4+3+2+1+2 - the numbers in GPU_WORKLOADS, summed by hand.
    assert totals == {"aws": 7, "azure": 9, "gcp": 43, "generic": 39}
    assert tpus == 16  # a v6e-16 slice: 4 hosts x 4 chips


KINDS = [
    ("aws/data-on-eks_spark-app-spot-cmr.yaml", [("SparkApplication", "driver", 1), ("SparkApplication", "executor", 4)]),
    ("generic/mpi-operator_pi.yaml", [("MPIJob", "Launcher", 1), ("MPIJob", "Worker", 2)]),
    ("generic/training-operator_tfjob_dist_mnist.yaml", [("TFJob", "Chief", 1), ("TFJob", "PS", 1), ("TFJob", "Worker", 2)]),
    ("generic/training-operator_tfjob_simple.yaml", [("TFJob", "Worker", 2)]),
    ("generic/training-operator_xgboostjob.yaml", [("XGBoostJob", "Master", 1), ("XGBoostJob", "Worker", 2)]),
    ("generic/training-operator_pytorchjob_simple.yaml", [("PyTorchJob", "Master", 1), ("PyTorchJob", "Worker", 1)]),
    ("generic/k8s-examples_cockroachdb-statefulset.yaml", [("StatefulSet", "cockroachdb", 3)]),
    ("generic/checkov_cassandra-statefulset-helm-rendered.yaml", [("StatefulSet", None, 3)]),
    ("generic/k8s-examples_cpu-manager-exclusive-1-pod.yaml", [("Pod", "exclusive-1", 1)]),
    ("generic/nvidia-device-plugin_daemonset.yaml", [("DaemonSet", "nvidia-device-plugin-ctr", None)]),
    ("generic/nvidia-gfd-daemonset-with-mig-mixed.yaml", [("DaemonSet", "gpu-feature-discovery", None)]),
    ("generic/checkov_job-ImageTagLatest.yaml", [("Job", "counter", 1)]),
    ("azure/kaito_workspace_falcon_40b.yaml", [("Workspace", None, 1)]),
    ("azure/aidalgo_spot-node-pool.yaml", [("NodePool", None, 1)]),
    ("azure/karpenter-azure_v1_perftest.yaml", [("NodePool", None, 0), ("NodePool", None, 0)]),
    ("aws/karpenter_v1_multiple-arch.yaml", [("NodePool", None, 0), ("NodePool", None, 0)]),
    ("gcp/karpenter-gcp_static-capacity-nodepool.yaml", [("NodePool", None, 3)]),
    # Queues, flavors, compute classes, Services: no compute of their own.
    ("azure/aks-kueue_cluster-queues-mig.yaml", []),
    ("azure/aks-kueue_resource-flavors-mig.yaml", []),
    ("gcp/kes_ccc-local-shared-spot.yaml", []),
    ("gcp/kes_kueue-cohort-flavors-spot.yaml", []),
]


@pytest.mark.parametrize(("name", "expected"), KINDS, ids=[n for n, _ in KINDS])
def test_kinds_roles_and_pod_counts(name, expected):
    assert [(r.kind, r.component, r.quantity.desired) for r in requests_of(name)] == expected


def test_cassandra_pods_sum_both_containers():
    [request] = requests_of("generic/checkov_cassandra-statefulset-helm-rendered.yaml")
    assert request.pod is not None and (request.pod.cpu, request.pod.memory_gib) == (1.0, 2.0)  # 2 x (500m, 1Gi)


SPOT = [
    ("gcp/kes_tgi-falcon-40b-l4-spot.yaml", 0, "nodeSelector cloud.google.com/gke-spot=true"),
    ("gcp/kes_aiml-batch-workload-spot.yaml", 0, "nodeSelector cloud.google.com/gke-spot=true"),
    ("gcp/kes_verl-ray-cluster-auto-spot.yaml", 0, "nodeSelector cloud.google.com/gke-spot=true"),
    ("gcp/kes_verl-ray-cluster-auto-spot.yaml", 1, "nodeSelector cloud.google.com/gke-spot=true"),
    ("aws/karpenter_workload_spot.yaml", 0, "nodeSelector karpenter.sh/capacity-type=spot"),
    ("azure/zioproto_echoserver-spot.yaml", 0, "prefers spot (preferred nodeAffinity kubernetes.azure.com/scalesetpriority=spot)"),
    ("azure/aidalgo_spot-node-pool.yaml", 0, "priority Spot"),
    ("aws/karpenter_v1_spot.yaml", 0, "requirement karpenter.sh/capacity-type=spot"),
    ("aws/data-on-eks_nodepool-compute-optimized.yaml", 0, "capacity-type allows on-demand, spot: Karpenter launches spot first"),
    ("azure/karpenter-azure_v1_perftest.yaml", 1, "requirement karpenter.sh/capacity-type=spot"),
    ("gcp/karpenter-gcp_default-nodepool.yaml", 0, "capacity-type allows on-demand, spot: Karpenter launches spot first"),
]


@pytest.mark.parametrize(("name", "index", "reason"), SPOT, ids=[f"{n}[{i}]" for n, i, _ in SPOT])
def test_spot_capacity_and_its_reason(name, index, reason):
    request = requests_of(name)[index]
    assert request.purchase_option is PurchaseOption.SPOT
    assert request.purchase_reason == reason


def test_on_demand_nodepools_and_windows():
    [limited] = requests_of("aws/karpenter_v1_100-cpu-limit.yaml")
    assert limited.purchase_option is PurchaseOption.ON_DEMAND
    assert (limited.quantity.desired, limited.quantity.max) == (0, 100)
    [windows] = requests_of("aws/karpenter_v1_windows-2022.yaml")
    assert windows.operating_system == "windows"
    [graviton] = requests_of("aws/data-on-eks_nodepool-memory-optimized-graviton.yaml")
    assert ("kubernetes.io/arch", ("arm64",)) in [(r.key, r.values) for r in graviton.node_requirements]
    assert graviton.quantity.max == 3000


def test_gpu_type_placeholder_in_verl_is_reported():
    head, worker = requests_of("gcp/kes_verl-ray-cluster-auto-spot.yaml")
    assert "gpu_model" in worker.unknowns
    assert "nodeSelector cloud.google.com/gke-accelerator is the unresolved placeholder ${GPU_TYPE}" in worker.notes
    assert worker.pod is not None and worker.pod.gpu_model is None and worker.pod.node_gpus == 8
    assert "gpu_model" not in head.unknowns


def test_accelerator_quantity_placeholder_makes_gpus_unknown():
    [request] = requests_of("gcp/kes_ccc-deployment-gpu.yaml")
    assert request.pod is not None and request.pod.gpus is None
    assert "gpus" in request.unknowns
    assert any("${ACCELERATOR_QUANTITY}" in n for n in request.notes)


def test_helm_rendered_files_are_read_with_their_template():
    [volcano] = requests_of("generic/volcano_agent-scheduler-helm-rendered.yaml")
    assert volcano.address == "Deployment/volcano-system/volcano-agent-scheduler"
    assert volcano.source.line == 149
    assert "rendered by Helm from volcano/templates/agent_scheduler.yaml" in volcano.notes
    [cassandra] = requests_of("generic/checkov_cassandra-statefulset-helm-rendered.yaml")
    assert cassandra.address == "StatefulSet/default/cassandra"
    assert cassandra.source.line == 18


def test_workload_classes_and_gpu_models_from_labels():
    [finetune] = requests_of("gcp/kes_llm-finetuning-gemma-job.yaml")
    assert (finetune.workload_class, finetune.pod.gpu_model if finetune.pod else None) == (WorkloadClass.BATCH, "L4")
    [kserve] = requests_of("generic/kserve_accelerators_tensorflow-gpu.yaml")
    assert (kserve.workload_class, kserve.provider, kserve.pod.gpu_model if kserve.pod else None) == (WorkloadClass.ONLINE, Provider.GCP, "T4")
    [shared] = requests_of("generic/gpu-operator_tests_plugin-test.yaml")
    assert shared.pod is not None and shared.pod.gpu_model == "T4" and shared.pod.shared_gpu
    [mig_daemon] = requests_of("generic/nvidia-gfd-daemonset-with-mig-mixed.yaml")
    assert len(mig_daemon.pod.alternatives if mig_daemon.pod else ()) == 3  # three ORed node-affinity terms


# Priced with the bundled catalog; expected unit prices are the prices.csv rows named.
PRICED = [
    ("gcp/kes_triton-single-gpu.yaml", 0, "g2-standard-4", "on_demand", Decimal("0.706832")),  # 4 vCPU/16 GiB fit exactly
    ("gcp/kes_vllm-gemma-2b-it-a100-40gb.yaml", 0, "a2-highgpu-1g", "on_demand", Decimal("3.673385")),
    ("gcp/kes_tgi-falcon-40b-l4-spot.yaml", 0, "g2-standard-24", "spot", Decimal("1.124816")),
    ("gcp/kes_tgi-gemma-2-27b-it.yaml", 0, "g2-standard-48", "on_demand", Decimal("4.001665")),
    ("gcp/kes_vit-training-statefulset-gcs.yaml", 0, "g2-standard-8", "on_demand", Decimal("0.853624")),  # 30Gi > g2-standard-4's 16
    ("azure/kaito_workspace_falcon_40b.yaml", 0, "Standard_NC96ads_A100_v4", "on_demand", Decimal("14.692")),
    ("azure/kaito_workspace_phi_3_mini_4k.yaml", 0, "Standard_NC6s_v3", "on_demand", Decimal("3.06")),
    ("azure/aidalgo_spot-node-pool.yaml", 0, "Standard_DS2_v2", "spot", Decimal("0.028061")),
]


@pytest.mark.parametrize(("name", "index", "instance_type", "option", "hourly"), PRICED, ids=[p[0] for p in PRICED])
def test_priced_corpus_requests(name, index, instance_type, option, hourly, catalog):
    item = price_requests(requests_of(name), catalog, REGIONS)[index]
    assert item.request.instance_type == instance_type
    assert item.after.parts[0].option == option
    assert item.after.hourly is not None and item.after.hourly.to_decimal() == hourly


def test_finetune_job_is_priced_for_its_default_hour(catalog):
    [item] = price_requests(requests_of("gcp/kes_llm-finetuning-gemma-job.yaml"), catalog, REGIONS)
    assert item.request.instance_type == "g2-standard-96"  # the only L4 type with 8 GPUs
    assert item.after.hourly is not None
    # g2-standard-96 on-demand 8.00333 $/h for the default 1 h: 8.00333 in the month.
    assert abs(item.after.hourly.to_decimal() * 730 - Decimal("8.00333")) < Decimal("0.000001")


def test_verl_worker_is_unpriced_naming_the_placeholder(catalog):
    head, worker = price_requests(requests_of("gcp/kes_verl-ray-cluster-auto-spot.yaml"), catalog, REGIONS)
    assert worker.after.hourly is None
    assert "${GPU_TYPE}" in (worker.after.unpriced_reason or "")
    # The head asks for 12 CPUs on a c2 spot node: c2-standard-16 (prices.csv spot 0.39872) x 12/16.
    assert head.request.instance_type == "c2-standard-16"
    assert head.after.hourly is not None and head.after.hourly.to_decimal() == Decimal("0.29904")
