"""GPU and accelerator names shared by every reader and by pricing."""

from __future__ import annotations

# GCP accelerator types (guest_accelerator.type, cloud.google.com/gke-accelerator) -> the GPU
# model names the catalog uses.
GCP_ACCELERATOR_MODELS = {
    "nvidia-tesla-t4": "T4",
    "nvidia-tesla-v100": "V100-16GB",
    "nvidia-tesla-p100": "P100",
    "nvidia-tesla-p4": "P4",
    "nvidia-tesla-k80": "K80",
    "nvidia-l4": "L4",
    "nvidia-tesla-a100": "A100-40GB",
    "nvidia-a100-80gb": "A100-80GB",
    "nvidia-h100-80gb": "H100-80GB",
    "nvidia-h100-mega-80gb": "H100-80GB",
    "nvidia-h200-141gb": "H200-141GB",
    "nvidia-b200": "B200",
    "nvidia-gb200": "GB200",
    "nvidia-rtx-pro-6000": "RTX-PRO-6000",
}

# Accelerators that are not GPUs. The catalog counts them in gpu_count (per instance), but a GPU
# budget or allow-list means NVIDIA/AMD GPUs, so reports keep the two apart.
NON_GPU_ACCELERATOR_PREFIXES = ("Inferentia", "Trainium", "Qualcomm-AI", "Gaudi", "Xilinx", "TPU")


def accelerator_kind(model: str | None) -> str:
    """'gpu' or 'accelerator' (Inferentia, Trainium, Gaudi, TPUs, FPGAs...)."""
    if model and model.startswith(NON_GPU_ACCELERATOR_PREFIXES):
        return "accelerator"
    return "gpu"
