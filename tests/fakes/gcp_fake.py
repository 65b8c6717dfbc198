"""A fake Cloud Billing Catalog API (ListSkus for Compute Engine) on a real loopback HTTP server.

It answers exactly what google-cloud-billing's REST transport sends:

    GET /v1/services/6F81-5844-456A/skus?currencyCode=USD&pageSize=5000[&pageToken=...]&%24alt=json%3Benum-encoding%3Dint

with SKUs in the API's JSON schema (the shape of ../shared/pricing/api-samples/
gcp_cloudbilling_list_skus.json) and errors in Google's JSON error format. SKU descriptions
follow the real catalog's wording, so the client's parser is tested against what Google sends:
"N1 Predefined Instance Core running in Americas", "Spot Preemptible N2 Instance Ram running in
EMEA", "Commitment v1: N2 Cpu in Americas for 1 Year", "Nvidia Tesla T4 GPU attached to Spot
Preemptible VMs running in Americas".
"""

from __future__ import annotations

import copy
import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.fakes.loopback import Fault, LoopbackServer, Reply, Request

SERVICE_ID = "6F81-5844-456A"
SKUS_PATH = f"/v1/services/{SERVICE_ID}/skus"
SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "pricing" / "api-samples" / "gcp_cloudbilling_list_skus.json"

# usageUnit -> (usageUnitDescription, baseUnit, baseUnitDescription, baseUnitConversionFactor)
UNITS: dict[str, tuple[str, str, str, int]] = {
    "h": ("hour", "s", "second", 3600),
    "GiBy.h": ("gibibyte hour", "By.s", "byte second", 3865470566400),
    "GiBy.mo": ("gibibyte month", "By.s", "byte second", 2783138807808000),
}

_GEO_NAMES = {"us": "Americas", "northamerica": "Americas", "southamerica": "Americas", "europe": "EMEA", "me": "EMEA", "africa": "EMEA"}
_COMMIT_YEARS = {"Commit1Yr": "1 Year", "Commit3Yr": "3 Years"}


def google_error(code: int, message: str, status: str) -> dict[str, Any]:
    """Google's JSON error body, as googleapis.com returns it."""
    return {"error": {"code": code, "message": message, "status": status}}


def throttled() -> Fault:
    return Fault(429, google_error(429, "Quota exceeded for quota metric 'Read requests'.", "RESOURCE_EXHAUSTED"))


def unavailable() -> Fault:
    return Fault(503, google_error(503, "The service is currently unavailable.", "UNAVAILABLE"))


def permission_denied() -> Fault:
    return Fault(403, google_error(403, "The caller does not have permission", "PERMISSION_DENIED"))


def unauthenticated() -> Fault:
    return Fault(401, google_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED"))


def hang(seconds: float) -> Fault:
    """Answer only after `seconds` (longer than the client's read timeout)."""
    return Fault(200, {"skus": []}, hang_seconds=seconds)


def geo_name(regions: list[str]) -> str:
    """The "running in ..." name of a SKU: Americas/EMEA/APAC, as multi-regional SKUs say."""
    return _GEO_NAMES.get(regions[0].split("-", 1)[0], "APAC") if regions else "Global"


def money(usd: str, currency: str = "USD") -> dict[str, Any]:
    """A google.type.Money: units as a string (int64 in JSON), nanos as a number."""
    amount = Decimal(usd)
    if amount != amount.quantize(Decimal("1e-9")):
        raise ValueError(f"{usd} has more precision than nanos")
    units = int(amount)
    return {"currencyCode": currency, "units": str(units), "nanos": int((amount - units) * 1_000_000_000)}


class GcpBillingFake:
    """Serves `skus` (SKU JSON dicts, in order) in pages; `page_size` forces small pages."""

    def __init__(self, *, tls: bool = False, latency: float = 0.0) -> None:
        self.skus: list[dict[str, Any]] = []
        self.page_size: int | None = None
        self._ids = itertools.count(1)
        self.server = LoopbackServer(self._handle, tls=tls, latency=latency)

    def __enter__(self) -> GcpBillingFake:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def sku_requests(self) -> list[Request]:
        return [request for request in self.server.requests if request.path == SKUS_PATH]

    def fail_next(self, *faults: Fault) -> None:
        self.server.fail_next(*faults)

    def reset(self) -> None:
        """Forget SKUs, paging, latency, pending faults and the request log, so one running server
        can serve many tests (stopping a server costs up to its 0.5 s poll interval)."""
        self.skus.clear()
        self.page_size = None
        self.server.latency = 0.0
        if self.server.gate is not None:
            self.server.gate.set()  # release anything a failed test left waiting
            self.server.gate = None
        with self.server._lock:
            self.server.faults.clear()
            self.server.requests.clear()

    # --- building the catalog ---------------------------------------------------------------------

    def add_sku(
        self,
        description: str,
        resource_group: str,
        usage_type: str,
        regions: list[str],
        usd_per_unit: str,
        unit: str = "h",
        effective: str = "2026-11-01T00:00:00Z",
    ) -> dict[str, Any]:
        """One Compute Engine SKU priced in USD, in the API's schema; returns it for tweaking."""
        sku_id = f"{next(self._ids):04X}-FAKE-{len(description) % 0xFFFF:04X}"
        unit_description, base_unit, base_description, factor = UNITS[unit]
        sku = {
            "name": f"services/{SERVICE_ID}/skus/{sku_id}",
            "skuId": sku_id,
            "description": description,
            "category": {
                "serviceDisplayName": "Compute Engine",
                "resourceFamily": "Compute",
                "resourceGroup": resource_group,
                "usageType": usage_type,
            },
            "serviceRegions": list(regions),
            "pricingInfo": [
                {
                    "summary": "",
                    "pricingExpression": {
                        "usageUnit": unit,
                        "displayQuantity": 1,
                        "tieredRates": [{"startUsageAmount": 0, "unitPrice": money(usd_per_unit)}],
                        "usageUnitDescription": unit_description,
                        "baseUnit": base_unit,
                        "baseUnitDescription": base_description,
                        "baseUnitConversionFactor": factor,
                    },
                    "currencyConversionRate": 1,
                    "effectiveTime": effective,
                }
            ],
            "serviceProviderName": "Google",
            "geoTaxonomy": {"type": "MULTI_REGIONAL" if len(regions) > 1 else "REGIONAL", "regions": list(regions)},
        }
        self.skus.append(sku)
        return sku

    def add_family_rates(
        self,
        family_description_prefix: str,
        regions: list[str],
        core: str,
        ram: str,
        usage: str = "OnDemand",
        effective: str = "2026-11-01T00:00:00Z",
    ) -> None:
        """The core and RAM SKUs of one series ("N1 Predefined Instance", "N2 Instance",
        "Compute optimized", "A2 Instance"...), worded as the real catalog words each usage type."""
        # N1's on-demand SKUs sit in resource group "N1Standard"; every other series (and all
        # commitments) use "CPU"/"RAM".
        n1 = family_description_prefix.startswith("N1 ")
        groups = ("N1Standard", "N1Standard") if n1 and usage in ("OnDemand", "Preemptible") else ("CPU", "RAM")
        for (word, price, unit), group in zip((("Core", core, "h"), ("Ram", ram, "GiBy.h")), groups):
            description = _family_description(family_description_prefix, word, usage, geo_name(regions))
            self.add_sku(description, group, usage, regions, price, unit, effective)

    def add_gpu(self, model_description: str, regions: list[str], price: str, usage: str = "OnDemand") -> None:
        """A per-GPU SKU: add_gpu("Nvidia Tesla T4", ["us-central1"], "0.35", "Preemptible")."""
        where = geo_name(regions)
        if usage == "OnDemand":
            description = f"{model_description} GPU running in {where}"
        elif usage == "Preemptible":
            description = f"{model_description} GPU attached to Spot Preemptible VMs running in {where}"
        else:
            description = f"Commitment v1: {model_description} GPU running in {where} for {_COMMIT_YEARS[usage]}"
        self.add_sku(description, "GPU", usage, regions, price, "h")

    def load_sample(self, path: Path | str = SAMPLE) -> None:
        """Serve the SKUs of a recorded ListSkus response verbatim (its nextPageToken is dropped:
        paging is the fake's own)."""
        document = json.loads(Path(path).read_text())
        self.skus.extend(copy.deepcopy(document["skus"]))

    # --- serving ----------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Reply:
        if request.method != "GET" or request.path != SKUS_PATH:
            return Reply(404, google_error(404, f"Method not found: {request.method} {request.path}", "NOT_FOUND"))
        page_size = int(_param(request, "pageSize") or 5000)
        if self.page_size:
            page_size = min(page_size, self.page_size)
        token = _param(request, "pageToken")
        start = 0
        if token:
            if not token.startswith("fake-offset-"):
                return Reply(400, google_error(400, "Invalid page token.", "INVALID_ARGUMENT"))
            start = int(token.removeprefix("fake-offset-"))
        end = start + page_size
        body: dict[str, Any] = {"skus": self.skus[start:end]}
        # Like the real API: the last page carries an empty nextPageToken.
        body["nextPageToken"] = f"fake-offset-{end}" if end < len(self.skus) else ""
        return Reply(200, body)


def _family_description(prefix: str, word: str, usage: str, where: str) -> str:
    if usage == "OnDemand":
        return f"{prefix} {word} running in {where}"
    if usage == "Preemptible":
        return f"Spot Preemptible {prefix} {word} running in {where}"
    # Commitments name the series without "Instance"/"Predefined", say "Cpu" for cores, and N1
    # names no series at all; C2 ("Compute optimized") keeps its older "Commitment:" wording.
    years = _COMMIT_YEARS[usage]
    if prefix == "Compute optimized":
        return f"Commitment: Compute optimized {word} running in {where} for {years}"
    series = " ".join(part for part in prefix.split() if part not in ("Instance", "Predefined", "N1"))
    resource = "Cpu" if word == "Core" else "Ram"
    return f"Commitment v1: {f'{series} ' if series else ''}{resource} in {where} for {years}"


def _param(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None
