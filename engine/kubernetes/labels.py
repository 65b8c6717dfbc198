"""What the well-known node labels of each cloud say about the node a pod needs.

Instance type, family, size and GPU labels describe the machine (matched against catalog specs in
`nodes`); capacity labels and taints say spot or on-demand; topology labels say the region; label
prefixes say the cloud. Everything else is a custom label that only a node pool can carry.
"""

from __future__ import annotations

from tollgate.engine.gpus import GCP_ACCELERATOR_MODELS

import re

from tollgate.engine.model import Provider, PurchaseOption

# --- the machine -------------------------------------------------------------------------------

INSTANCE_TYPE_KEYS = frozenset(
    {"node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type", "karpenter.azure.com/sku-name"}
)
FAMILY_KEYS = frozenset(
    {
        "karpenter.k8s.aws/instance-family",
        "karpenter.k8s.gcp/instance-family",
        "cloud.google.com/machine-family",
        "karpenter.azure.com/sku-family",
    }
)
CATEGORY_KEYS = frozenset({"karpenter.k8s.aws/instance-category", "karpenter.k8s.gcp/instance-category"})
GENERATION_KEYS = frozenset({"karpenter.k8s.aws/instance-generation", "karpenter.azure.com/sku-version"})
SIZE_KEYS = frozenset({"karpenter.k8s.aws/instance-size", "karpenter.k8s.gcp/instance-size"})
CPU_KEYS = frozenset({"karpenter.k8s.aws/instance-cpu", "karpenter.k8s.gcp/instance-cpu", "karpenter.azure.com/sku-cpu"})
MEMORY_MIB_KEYS = frozenset(
    {"karpenter.k8s.aws/instance-memory", "karpenter.k8s.gcp/instance-memory", "karpenter.azure.com/sku-memory"}
)
GPU_NAME_KEYS = frozenset(
    {
        "karpenter.k8s.aws/instance-gpu-name",
        "karpenter.k8s.gcp/instance-gpu-name",
        "karpenter.azure.com/sku-gpu-name",
        "cloud.google.com/gke-accelerator",
        "nvidia.com/gpu.product",
    }
)
GPU_COUNT_KEYS = frozenset(
    {
        "karpenter.k8s.aws/instance-gpu-count",
        "karpenter.k8s.gcp/instance-gpu-count",
        "karpenter.azure.com/sku-gpu-count",
        "cloud.google.com/gke-accelerator-count",
        "nvidia.com/gpu.count",
    }
)
GPU_MEMORY_MIB_KEYS = frozenset({"karpenter.k8s.aws/instance-gpu-memory", "nvidia.com/gpu.memory"})
GPU_MANUFACTURER_KEYS = frozenset(
    {"karpenter.k8s.aws/instance-gpu-manufacturer", "karpenter.azure.com/sku-gpu-manufacturer", "kubernetes.azure.com/accelerator"}
)
TPU_KEYS = frozenset({"cloud.google.com/gke-tpu-accelerator"})
ARCH_KEYS = frozenset({"kubernetes.io/arch", "beta.kubernetes.io/arch"})
OS_KEYS = frozenset({"kubernetes.io/os", "beta.kubernetes.io/os"})

# Keys that narrow the machine type enough to pick one from the catalog (arch or capacity alone do not).
TYPE_NARROWING_KEYS = INSTANCE_TYPE_KEYS | FAMILY_KEYS | CATEGORY_KEYS | GPU_NAME_KEYS | TPU_KEYS
SPEC_KEYS = (
    TYPE_NARROWING_KEYS
    | GENERATION_KEYS
    | SIZE_KEYS
    | CPU_KEYS
    | MEMORY_MIB_KEYS
    | GPU_COUNT_KEYS
    | GPU_MEMORY_MIB_KEYS
    | GPU_MANUFACTURER_KEYS
    | ARCH_KEYS
)

# --- where ----------------------------------------------------------------------------------------

REGION_KEYS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
ZONE_KEYS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone", "topology.gke.io/zone")
# Labels every node has or that say nothing about price: never required from a node pool's labels.
NEUTRAL_KEYS = frozenset({"kubernetes.io/hostname", *REGION_KEYS, *ZONE_KEYS, *OS_KEYS})

_PROVIDER_PREFIXES = (
    ("karpenter.k8s.aws/", Provider.AWS),
    ("eks.amazonaws.com/", Provider.AWS),
    ("k8s.amazonaws.com/", Provider.AWS),
    ("karpenter.k8s.gcp/", Provider.GCP),
    ("cloud.google.com/", Provider.GCP),
    ("topology.gke.io/", Provider.GCP),
    ("karpenter.azure.com/", Provider.AZURE),
    ("kubernetes.azure.com/", Provider.AZURE),
)

# --- purchase option ------------------------------------------------------------------------------

CAPACITY_KEYS = frozenset(
    {
        "karpenter.sh/capacity-type",
        "eks.amazonaws.com/capacityType",
        "cloud.google.com/gke-spot",
        "cloud.google.com/gke-preemptible",
        "cloud.google.com/gke-provisioning",
        "kubernetes.azure.com/scalesetpriority",
    }
)
# The taints clouds put on spot nodes: tolerating one is how a pod opts into spot capacity.
SPOT_TAINTS = {
    "kubernetes.azure.com/scalesetpriority": "spot",
    "cloud.google.com/gke-spot": "true",
    "cloud.google.com/gke-preemptible": "true",
    "karpenter.sh/capacity-type": "spot",
    "eks.amazonaws.com/capacityType": "SPOT",
}


def capacity_of(key: str, value: str) -> PurchaseOption | None:
    """The purchase option a capacity label value means; None for a key that is not one or an
    unknown value."""
    lowered = value.strip().lower()
    if key in ("karpenter.sh/capacity-type", "eks.amazonaws.com/capacityType"):
        return {
            "spot": PurchaseOption.SPOT,
            "on-demand": PurchaseOption.ON_DEMAND,
            "on_demand": PurchaseOption.ON_DEMAND,
            "reserved": PurchaseOption.RESERVED,
            "capacity_block": PurchaseOption.RESERVED,
        }.get(lowered)
    if key in ("cloud.google.com/gke-spot", "cloud.google.com/gke-preemptible"):
        return {"true": PurchaseOption.SPOT, "false": PurchaseOption.ON_DEMAND}.get(lowered)
    if key == "cloud.google.com/gke-provisioning":
        return {"spot": PurchaseOption.SPOT, "preemptible": PurchaseOption.SPOT, "standard": PurchaseOption.ON_DEMAND}.get(lowered)
    if key == "kubernetes.azure.com/scalesetpriority":
        return {"spot": PurchaseOption.SPOT, "regular": PurchaseOption.ON_DEMAND}.get(lowered)
    return None


def provider_of_key(key: str) -> Provider | None:
    for prefix, provider in _PROVIDER_PREFIXES:
        if key.startswith(prefix):
            return provider
    return None


_AWS_TYPE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")
_GCP_TYPE_RE = re.compile(r"^[a-z][a-z0-9]*-[a-z0-9]+(-[a-z0-9]+)*$")


def provider_of_instance_type(name: str) -> Provider | None:
    """g5.xlarge -> aws, n1-standard-4 -> gcp, Standard_NC6s_v3 -> azure; None when it looks like none."""
    text = name.strip()
    if text.lower().startswith(("standard_", "basic_")):
        return Provider.AZURE
    if _AWS_TYPE_RE.match(text):
        return Provider.AWS
    if _GCP_TYPE_RE.match(text):
        return Provider.GCP
    return None


# --- GPU models -----------------------------------------------------------------------------------

# cloud.google.com/gke-accelerator values (and GCP accelerator types) -> catalog GPU models.
GKE_ACCELERATORS = GCP_ACCELERATOR_MODELS  # one table for Terraform guest_accelerator and GKE labels
# GPUs GCP attaches to N1 machines (guest accelerators), with the counts it allows per VM.
GCP_ATTACHED_GPUS = {
    "T4": ("nvidia-tesla-t4", (1, 2, 4)),
    "V100-16GB": ("nvidia-tesla-v100", (1, 2, 4, 8)),
    "P100": ("nvidia-tesla-p100", (1, 2, 4)),
    "P4": ("nvidia-tesla-p4", (1, 2, 4)),
    "K80": ("nvidia-tesla-k80", (1, 2, 4, 8)),
}
# cloud.google.com/gke-tpu-accelerator -> the TPU machine family GKE uses for it.
GKE_TPU_FAMILIES = {
    "tpu-v3-device": "ct3",
    "tpu-v3-slice": "ct3p",
    "tpu-v4-podslice": "ct4p",
    "tpu-v5-lite-device": "ct5l",
    "tpu-v5-lite-podslice": "ct5lp",
    "tpu-v5p-slice": "ct5p",
    "tpu-v6e-slice": "ct6e",
    "tpu7x": "tpu7x",
}
TPU_FAMILIES = frozenset(GKE_TPU_FAMILIES.values())

_TOKEN_MODELS = (  # (token, model): checked in order on the label's tokens
    ("GB200", "GB200"),
    ("B300", "B300"),
    ("B200", "B200"),
    ("H200", "H200-141GB"),
    ("L40S", "L40S"),
    ("L40", "L40"),
    ("L4", "L4"),
    ("A10G", "A10G"),
    ("A10", "A10"),
    ("T4G", "T4G"),
    ("T4", "T4"),
    ("K80", "K80"),
    ("M60", "M60"),
    ("P100", "P100"),
    ("P40", "P40"),
    ("P4", "P4"),
    ("MI300X", "MI300X"),
    ("MI25", "MI25"),
    ("V520", "Radeon-Pro-V520"),
    ("V620", "Radeon-Pro-V620"),
    ("V710", "Radeon-Pro-V710"),
)
_AMD_MODEL_PREFIXES = ("MI", "Radeon")


def normalize_gpu_model(raw: str) -> str | None:
    """A GPU name from a node label -> the catalog's model name, or a model family ("A100",
    "V100", "H100") when the label does not say which variant. None when unrecognised."""
    text = raw.strip()
    if text.lower() in GKE_ACCELERATORS:
        return GKE_ACCELERATORS[text.lower()]
    tokens = [t for t in re.split(r"[^A-Z0-9]+", text.upper()) if t]
    if "A100" in tokens:
        if "80GB" in tokens:
            return "A100-80GB"
        return "A100-40GB" if "40GB" in tokens else "A100"
    if "H100" in tokens:
        if "NVL" in tokens or "94GB" in tokens:
            return "H100-NVL-94GB"
        return "H100-80GB" if "80GB" in tokens else "H100"
    if "V100" in tokens:
        if "32GB" in tokens:
            return "V100-32GB"
        return "V100-16GB" if "16GB" in tokens else "V100"
    for token, model in _TOKEN_MODELS:
        if token in tokens:
            return model
    return None


def gpu_model_matches(catalog_model: str | None, wanted: str) -> bool:
    """'A100' matches A100-40GB and A100-80GB; 'T4' matches T4 only (not T4G)."""
    if catalog_model is None:
        return False
    return catalog_model == wanted or catalog_model.startswith(wanted + "-")


def gpu_vendor(model: str | None) -> str | None:
    """nvidia | amd | tpu | other (Inferentia, Trainium, Gaudi, FPGAs) for a catalog model."""
    if model is None:
        return None
    if model.startswith("TPU"):
        return "tpu"
    if model.startswith(_AMD_MODEL_PREFIXES):
        return "amd"
    if model.startswith(("Inferentia", "Trainium")):
        return "neuron"
    if model.startswith(("Gaudi", "Qualcomm", "Xilinx")):
        return "other"
    return "nvidia"


def vendor_of_resource(resource: str) -> str:
    if resource.startswith("nvidia.com/"):
        return "nvidia"
    if resource.startswith("amd.com/"):
        return "amd"
    if resource == "google.com/tpu":
        return "tpu"
    if resource.startswith("aws.amazon.com/neuron"):
        return "neuron"
    return "other"


def tpu_chips(instance_type: str) -> int | None:
    """TPU chips of a GKE TPU machine type: ct6e-standard-4t -> 4."""
    match = re.search(r"-(\d+)t$", instance_type)
    return int(match.group(1)) if match else None


def tpu_model(family: str) -> str:
    """ct6e -> TPU-v6e, ct5lp -> TPU-v5e, tpu7x -> TPU-7x (names for reports)."""
    names = {"ct3": "TPU-v3", "ct3p": "TPU-v3", "ct4p": "TPU-v4", "ct5l": "TPU-v5e", "ct5lp": "TPU-v5e", "ct5p": "TPU-v5p", "ct6e": "TPU-v6e", "tpu7x": "TPU-7x"}
    return names.get(family, f"TPU-{family}")


# --- taints and tolerations -----------------------------------------------------------------------


def tolerates(tolerations: tuple[str, ...], taint: str) -> bool:
    """Whether a pod's tolerations ("key=value:Effect", "key:Effect", "key", "*") admit a taint
    written "key=value:Effect" or "key:Effect"."""
    key_value, _, effect = taint.partition(":")
    key, _, value = key_value.partition("=")
    for toleration in tolerations:
        if toleration == "*":
            return True
        t_key_value, _, t_effect = toleration.partition(":")
        if t_effect and effect and t_effect != effect:
            continue
        t_key, equals, t_value = t_key_value.partition("=")
        if t_key == key and (not equals or t_value == value):
            return True
    return False
