"""Helpers for the Kubernetes tests: read a manifest text, price it with the bundled catalog."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

from tollgate.engine.config_loader import validate_cluster
from tollgate.engine.kubernetes.reader import read_manifest_requests
from tollgate.engine.model import ComputeRequest
from tollgate.engine.pricing import PricedRequest, price_requests

HOURS = 730


def write(tmp_path: Path, text: str, name: str = "manifest.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def read(tmp_path: Path, text: str, cluster: dict[str, Any] | None = None, **options: Any) -> list[ComputeRequest]:
    profile = validate_cluster(cluster) if cluster is not None else None
    return read_manifest_requests(str(write(tmp_path, text)), profile, **options)


def one(tmp_path: Path, text: str, cluster: dict[str, Any] | None = None, **options: Any) -> ComputeRequest:
    requests = read(tmp_path, text, cluster, **options)
    assert len(requests) == 1, [r.address for r in requests]
    return requests[0]


def priced(
    tmp_path: Path, text: str, catalog: Any, cluster: dict[str, Any] | None = None, regions: dict[str, str] | None = None
) -> list[PricedRequest]:
    return price_requests(read(tmp_path, text, cluster), catalog, regions or {}, HOURS)


def priced_one(tmp_path: Path, text: str, catalog: Any, cluster: dict[str, Any] | None = None, regions: dict[str, str] | None = None) -> PricedRequest:
    items = priced(tmp_path, text, catalog, cluster, regions)
    assert len(items) == 1, [i.request.address for i in items]
    return items[0]


def usd(item: PricedRequest) -> Decimal:
    """The request's hourly amount, exact."""
    assert item.after.hourly is not None, item.after.unpriced_reason
    return item.after.hourly.to_decimal()


def monthly(item: PricedRequest) -> Decimal:
    return usd(item) * HOURS


def nano(value: Decimal) -> Decimal:
    """Round to the nano-dollar, as Money does once per multiplication by a fraction."""
    return value.quantize(Decimal("0.000000001"))


AWS = {"provider": "aws", "region": "us-east-1"}
GCP = {"provider": "gcp", "region": "us-central1"}
AZURE = {"provider": "azure", "region": "eastus"}


def deployment(
    containers: str,
    replicas: int = 1,
    pod_extra: str = "",
    metadata_extra: str = "",
    name: str = "app",
    namespace: str | None = None,
) -> str:
    """A Deployment with the given (already indented at 8 spaces) containers block."""
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}{ns}{metadata_extra}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:{pod_extra}
      containers:
{containers}
"""


def container(name: str = "main", requests: str = "", limits: str = "") -> str:
    lines = [f"        - name: {name}", "          image: example/image:1", "          resources:"]
    if requests:
        lines.append(f"            requests: {{{requests}}}")
    if limits:
        lines.append(f"            limits: {{{limits}}}")
    if not requests and not limits:
        lines[-1] = "          resources: {}"
    return "\n".join(lines)
