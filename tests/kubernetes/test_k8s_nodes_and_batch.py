"""Accelerator resources, each cloud's capacity labels, affinity and tolerations, and the batch
clock (expected hours, cron schedules)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from k8s_helpers import container, deployment, one, read
from tollgate.engine.kubernetes.cron import CronError, runs_per_month
from tollgate.engine.kubernetes.labels import normalize_gpu_model, tolerates
from tollgate.engine.model import Provider, PurchaseOption


def pod_with(tmp_path, pod_extra: str, resources: str = "cpu: 1"):
    return one(tmp_path, deployment(container(limits=resources), pod_extra=pod_extra))


# --- accelerators ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resources", "gpus", "resource"),
    [
        ("nvidia.com/gpu: 2", 2.0, "nvidia.com/gpu"),
        ("amd.com/gpu: 1", 1.0, "amd.com/gpu"),
        ("google.com/tpu: 8", 8.0, "google.com/tpu"),
        ("nvidia.com/mig-3g.40gb: 1", 3 / 7, "nvidia.com/mig-3g.40gb"),
        ("nvidia.com/mig-1g.10gb: 2", 2 / 7, "nvidia.com/mig-1g.10gb"),
        ("nvidia.com/mig-2g.12gb: 1", 2 / 4, "nvidia.com/mig-2g.12gb"),  # an A30 profile: quarters
        ("aws.amazon.com/neuron: 1", 1.0, "aws.amazon.com/neuron"),
    ],
)
def test_accelerator_resources_and_mig_fractions(tmp_path, resources, gpus, resource):
    request = pod_with(tmp_path, "", resources)
    assert request.pod is not None
    assert request.pod.gpus == pytest.approx(gpus)
    assert request.pod.gpu_resource == resource


def test_mixed_mig_profiles_add_up(tmp_path):
    request = pod_with(tmp_path, "", "nvidia.com/mig-1g.10gb: 1, nvidia.com/mig-3g.40gb: 1")
    assert request.pod is not None and request.pod.gpus == pytest.approx(4 / 7)
    assert any("counted together" in n for n in request.notes)


def test_hami_virtual_gpus_and_shared_product_are_marked_shared(tmp_path):
    hami = pod_with(tmp_path, "", 'nvidia.com/gpu: 2, nvidia.com/gpucores: "30", nvidia.com/gpumem: "1024"')
    assert hami.pod is not None and hami.pod.shared_gpu and hami.pod.gpus == 2.0
    shared = pod_with(tmp_path, '\n      nodeSelector: {nvidia.com/gpu.product: Tesla-T4-SHARED}', "nvidia.com/gpu: 1")
    assert shared.pod is not None and shared.pod.shared_gpu and shared.pod.gpu_model == "T4"


@pytest.mark.parametrize(
    ("label", "model"),
    [
        ("nvidia-tesla-t4", "T4"),
        ("nvidia-l4", "L4"),
        ("nvidia-tesla-a100", "A100-40GB"),
        ("nvidia-a100-80gb", "A100-80GB"),
        ("nvidia-h100-80gb", "H100-80GB"),
        ("NVIDIA-A100-SXM4-80GB", "A100-80GB"),
        ("NVIDIA-H100-80GB-HBM3", "H100-80GB"),
        ("NVIDIA-H100-NVL", "H100-NVL-94GB"),
        ("NVIDIA-A10G", "A10G"),
        ("NVIDIA-L40S", "L40S"),
        ("Tesla-V100-SXM2-32GB", "V100-32GB"),
        ("a100", "A100"),  # Karpenter's gpu-name: the family, both memory sizes match
        ("t4g", "T4G"),
        ("mi300x", "MI300X"),
        ("unknown-accelerator", None),
    ],
)
def test_gpu_model_names_from_labels(label, model):
    assert normalize_gpu_model(label) == model


# --- capacity labels per cloud ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "option", "provider"),
    [
        ("karpenter.sh/capacity-type: spot", PurchaseOption.SPOT, None),
        ("karpenter.sh/capacity-type: on-demand", PurchaseOption.ON_DEMAND, None),
        ("eks.amazonaws.com/capacityType: SPOT", PurchaseOption.SPOT, Provider.AWS),
        ("eks.amazonaws.com/capacityType: ON_DEMAND", PurchaseOption.ON_DEMAND, Provider.AWS),
        ('cloud.google.com/gke-spot: "true"', PurchaseOption.SPOT, Provider.GCP),
        ("cloud.google.com/gke-spot: true", PurchaseOption.SPOT, Provider.GCP),  # a YAML boolean
        ('cloud.google.com/gke-preemptible: "true"', PurchaseOption.SPOT, Provider.GCP),
        ("cloud.google.com/gke-provisioning: spot", PurchaseOption.SPOT, Provider.GCP),
        ("kubernetes.azure.com/scalesetpriority: spot", PurchaseOption.SPOT, Provider.AZURE),
        ("kubernetes.azure.com/scalesetpriority: regular", PurchaseOption.ON_DEMAND, Provider.AZURE),
    ],
)
def test_capacity_node_selectors_of_each_cloud(tmp_path, selector, option, provider):
    request = pod_with(tmp_path, f"\n      nodeSelector: {{{selector}}}")
    assert request.purchase_option is option
    assert request.purchase_reason is not None and request.purchase_reason.startswith("nodeSelector ")
    assert request.pod is not None and not request.pod.capacity_from_pool
    if provider is not None:
        assert request.provider is provider


def test_capacity_from_required_node_affinity(tmp_path):
    request = pod_with(
        tmp_path,
        """
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - {key: karpenter.sh/capacity-type, operator: In, values: [spot]}
                  - {key: node.kubernetes.io/instance-type, operator: In, values: [g5.xlarge, g5.2xlarge]}""",
    )
    assert request.purchase_option is PurchaseOption.SPOT
    assert request.purchase_reason == "nodeAffinity karpenter.sh/capacity-type=spot"
    assert request.instance_types == ("g5.xlarge", "g5.2xlarge")
    assert request.provider is Provider.AWS  # from the instance type names


def test_affinity_with_several_terms_is_any_of_them(tmp_path):
    request = pod_with(
        tmp_path,
        """
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions: [{key: cloud.google.com/gke-accelerator, operator: In, values: [nvidia-l4]}]
              - matchExpressions: [{key: cloud.google.com/gke-accelerator, operator: In, values: [nvidia-tesla-t4]}]""",
    )
    assert request.pod is not None
    assert request.pod.requirements == ()
    assert [[r.values for r in term] for term in request.pod.alternatives] == [[("nvidia-l4",)], [("nvidia-tesla-t4",)]]


def test_spot_preference_and_spot_tolerations_of_each_cloud(tmp_path):
    preferred = pod_with(
        tmp_path,
        """
      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              preference: {matchExpressions: [{key: kubernetes.azure.com/scalesetpriority, operator: In, values: [spot]}]}""",
    )
    assert preferred.purchase_option is PurchaseOption.SPOT
    assert (preferred.purchase_reason or "").startswith("prefers spot")
    for key, value in (
        ("kubernetes.azure.com/scalesetpriority", "spot"),
        ("cloud.google.com/gke-spot", '"true"'),
        ("karpenter.sh/capacity-type", "spot"),
    ):
        tolerant = pod_with(tmp_path, f"\n      tolerations: [{{key: {key}, operator: Equal, value: {value}, effect: NoSchedule}}]")
        assert tolerant.purchase_option is PurchaseOption.SPOT, key
        assert f"tolerates the spot taint {key}" in (tolerant.purchase_reason or "")
    gpu_only = pod_with(tmp_path, "\n      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]")
    assert gpu_only.purchase_option is PurchaseOption.ON_DEMAND
    assert gpu_only.pod is not None and gpu_only.pod.capacity_from_pool


def test_toleration_matching():
    assert tolerates(("nvidia.com/gpu:NoSchedule",), "nvidia.com/gpu=present:NoSchedule")
    assert tolerates(("dedicated=ml",), "dedicated=ml:NoSchedule")
    assert not tolerates(("dedicated=web",), "dedicated=ml:NoSchedule")
    assert not tolerates(("nvidia.com/gpu:NoExecute",), "nvidia.com/gpu=present:NoSchedule")
    assert tolerates(("*",), "anything=at:All")


def test_windows_node_selector_is_the_operating_system(tmp_path):
    request = pod_with(tmp_path, "\n      nodeSelector: {kubernetes.io/os: windows}")
    assert request.operating_system == "windows"


# --- batch hours -----------------------------------------------------------------------------------


def job(extra_metadata: str = "", spec_extra: str = "") -> str:
    return f"""
apiVersion: batch/v1
kind: Job
metadata:
  name: j{extra_metadata}
spec:{spec_extra}
  template:
    spec:
      containers: [{{name: c, image: x, resources: {{requests: {{cpu: 1}}}}}}]
      restartPolicy: Never
"""


def test_job_hours_come_from_the_annotation(tmp_path):
    request = one(tmp_path, job('\n  annotations: {tollgate.dev/expected-hours: "6.5"}'))
    assert request.hours_per_month_override == 6.5
    assert "6.5 h per run (tollgate.dev/expected-hours)" in request.notes


def test_job_hours_default_is_one_hour_and_configurable(tmp_path):
    assert one(tmp_path, job()).hours_per_month_override == 1.0
    assert one(tmp_path, job(), default_batch_hours=4).hours_per_month_override == 4.0
    assert any("set the tollgate.dev/expected-hours annotation" in n for n in one(tmp_path, job()).notes)


def test_active_deadline_caps_the_default_hours(tmp_path):
    request = one(tmp_path, job(spec_extra="\n  activeDeadlineSeconds: 900"))
    assert request.hours_per_month_override == 0.25
    assert any("activeDeadlineSeconds 900 caps the run" in n for n in request.notes)


def test_bad_or_placeholder_expected_hours_are_unknown(tmp_path):
    for value in ('"${HOURS}"', '"soon"', '"-3"'):
        request = one(tmp_path, job(f"\n  annotations: {{tollgate.dev/expected-hours: {value}}}"))
        assert request.hours_per_month_override is None
        assert "expected_hours" in request.unknowns


def test_expected_hours_on_a_deployment_is_ignored_and_said_so(tmp_path):
    request = one(tmp_path, deployment(container(requests="cpu: 1"), metadata_extra='\n  annotations: {tollgate.dev/expected-hours: "5"}'))
    assert request.hours_per_month_override is None
    assert any("is ignored" in n for n in request.notes)


def cronjob(schedule: str, extra: str = "") -> str:
    return f"""
apiVersion: batch/v1
kind: CronJob
metadata:
  name: cj
  annotations: {{tollgate.dev/expected-hours: "3"}}
spec:
  schedule: "{schedule}"{extra}
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{{name: c, image: x, resources: {{requests: {{cpu: 1}}}}}}]
          restartPolicy: OnFailure
"""


def test_cronjob_hours_are_runs_per_month_times_hours(tmp_path):
    weekly = one(tmp_path, cronjob("0 4 * * 1"))
    assert weekly.hours_per_month_override == pytest.approx(3 * 208 / 48)  # 208 Mondays in 2025-2028
    suspended = one(tmp_path, cronjob("@hourly", "\n  suspend: true"))
    assert suspended.hours_per_month_override == 0.0
    broken = one(tmp_path, cronjob("every day at noon"))
    assert broken.hours_per_month_override is None and "schedule" in broken.unknowns


@pytest.mark.parametrize(
    ("schedule", "runs"),
    [
        ("@hourly", Fraction(1461, 2)),  # 24 x 1461 / 48
        ("@daily", Fraction(1461, 48)),
        ("@midnight", Fraction(1461, 48)),
        ("0 0 1 * *", Fraction(1)),
        ("@monthly", Fraction(1)),
        ("@yearly", Fraction(1, 12)),
        ("*/15 * * * *", Fraction(4 * 24 * 1461, 48)),
        ("0,30 9-17 * * *", Fraction(2 * 9 * 1461, 48)),
        ("0 */6 * * *", Fraction(4 * 1461, 48)),
        ("0 9 * * mon-fri", Fraction(1043, 48)),
        ("0 9 * * 1-5", Fraction(1043, 48)),
        ("0 0 * * 0", Fraction(209, 48)),
        ("0 0 * * 7", Fraction(209, 48)),  # 7 is Sunday too
        ("0 0 29 feb *", Fraction(1, 48)),  # once in four years
        ("0 0 1,15 jan-jun *", Fraction(2 * 6 * 4, 48)),
        ("CRON_TZ=Europe/Paris 0 12 * * *", Fraction(1461, 48)),
    ],
)
def test_cron_runs_per_month(schedule, runs):
    assert runs_per_month(schedule) == runs


def test_cron_day_of_month_or_day_of_week_when_both_are_restricted():
    # The 13th or any Friday: 4 x 12 thirteenths + 209 Fridays - 6 Friday-the-13ths in 2025-2028.
    assert runs_per_month("0 0 13 * 5") == Fraction(48 + 209 - 6, 48)


@pytest.mark.parametrize("schedule", ["", "* * * *", "61 * * * *", "0 25 * * *", "5-1 * * * *", "*/0 * * * *", "@reboot", "@every 5m", "H * * * *"])
def test_cron_rejects_what_it_cannot_read(schedule):
    with pytest.raises(CronError):
        runs_per_month(schedule)


def test_training_crds_use_the_batch_clock(tmp_path):
    requests = read(
        tmp_path,
        """
        apiVersion: kubeflow.org/v1
        kind: PyTorchJob
        metadata:
          name: ft
          annotations: {tollgate.dev/expected-hours: "48"}
        spec:
          pytorchReplicaSpecs:
            Worker: {replicas: 2, template: {spec: {containers: [{name: p, image: x, resources: {limits: {nvidia.com/gpu: 8}}}]}}}
        """,
    )
    assert [r.hours_per_month_override for r in requests] == [48.0]
