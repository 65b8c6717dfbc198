"""Fakes of the two Azure APIs tollgate calls, to be served by `LoopbackServer`.

* `AzureRetailFake`: GET /api/retail/prices, in the Retail Prices API's item schema, honouring
  the `$filter` eq clauses, paging with an absolute https://prices.azure.com:443 NextPageLink (as
  the real API does) so tests prove the client moves it onto the configured endpoint.
* `AzureCostManagementFake`: POST /{scope}/providers/Microsoft.CostManagement/query, in the
  Query - Usage response schema, recording every body so tests can assert the filter sent.

    fake = AzureRetailFake()
    fake.add_vm("eastus", "Standard_D4s_v5", on_demand="0.192")
    with LoopbackServer(fake.handle) as server:
        ...  # point settings.endpoints["azure_retail"] at server.url

Numbers are kept as Decimal and written to JSON as plain numbers (via float, whose shortest repr
gives back the same digits for any price with up to 15 significant digits).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from tests.fakes.loopback import Reply, Request

RETAIL_PUBLIC_BASE = "https://prices.azure.com:443"
RETAIL_PATH = "/api/retail/prices"
MANAGEMENT_PUBLIC_BASE = "https://management.azure.com"

# A few display names, as the API's `location` field writes them; others fall back to the id.
_LOCATIONS = {
    "eastus": "US East",
    "eastus2": "US East 2",
    "westus2": "US West 2",
    "westeurope": "EU West",
    "northeurope": "EU North",
    "southindia": "IN South",
    "uksouth": "UK South",
}

_QUERY_SAFE = "$'"  # keep $filter / $skip and OData quotes readable, as the API does
_CLAUSE = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$")

Price = Decimal | str | int | float


def _json(body: Any) -> bytes:
    """JSON with Decimal written as a number (the real APIs send numbers, never strings)."""

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        raise TypeError(f"not JSON: {value!r}")

    return json.dumps(body, default=default).encode()


def _code(*parts: str, length: int = 12) -> str:
    """A stable id in the style of productId/skuId (upper-case alphanumerics)."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:length].upper()


def sku_name(size: str) -> str:
    """Standard_D8_v4 -> "D8 v4", as the API's skuName/meterName write it."""
    return re.sub(r"^(Standard|Basic)_", "", size).replace("_", " ")


def product_name(size: str) -> str:
    """Standard_D8_v4 -> "Virtual Machines Dv4 Series" (the series without the vCPU count)."""
    words = sku_name(size).split()
    series = re.sub(r"\d+", "", words[0], count=1) + "".join(words[1:])
    return f"Virtual Machines {series} Series"


class AzureRetailFake:
    """The Azure Retail Prices API, for Virtual Machines."""

    def __init__(self, page_size: int = 100) -> None:
        self.items: list[dict[str, Any]] = []
        self.page_size = page_size  # the real API pages at 100 (1000 for some versions)
        self.served_links: list[str | None] = []  # every NextPageLink handed out, in order
        self._sample: bytes | None = None

    # -- catalogue -------------------------------------------------------------------------

    def vm_item(
        self,
        region: str,
        size: str,
        price: Price,
        kind: str = "Consumption",
        *,
        sku: str | None = None,
        meter: str | None = None,
        product: str | None = None,
        reservation_term: str | None = None,
        primary: bool = True,
        unit: str = "1 Hour",
        effective: str = "2026-11-01T00:00:00Z",
    ) -> dict[str, Any]:
        """One item exactly in the API's schema (field order as the API sends it)."""
        sku = sku or sku_name(size)
        meter = meter or sku
        product = product or product_name(size)
        product_id = _code("product", product)
        item: dict[str, Any] = {"currencyCode": "USD", "tierMinimumUnits": Decimal("0.0")}
        if reservation_term is not None:
            item["reservationTerm"] = reservation_term
        item.update(
            {
                "retailPrice": Decimal(str(price)),
                "unitPrice": Decimal(str(price)),
                "armRegionName": region,
                "location": _LOCATIONS.get(region, region),
                "effectiveStartDate": effective,
                "meterId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"azure-meter/{region}/{product}/{meter}")),
                "meterName": meter,
                "productId": product_id,
                "skuId": f"{product_id}/{_code('sku', product, sku, kind, reservation_term or '', length=4)}",
                "productName": product,
                "skuName": sku,
                "serviceName": "Virtual Machines",
                "serviceId": "DZH313Z7MMC8",
                "serviceFamily": "Compute",
                "unitOfMeasure": unit,
                "type": kind,
                "isPrimaryMeterRegion": primary,
                "armSkuName": size,
            }
        )
        return item

    def add_item(self, item: dict[str, Any]) -> None:
        self.items.append(item)

    def add_vm(
        self,
        region: str,
        size: str,
        on_demand: Price,
        spot: Price | None = None,
        reserved_1y_term_total: Price | None = None,
        reserved_3y_term_total: Price | None = None,
        effective: str = "2026-11-01T00:00:00Z",
        decoys: bool = True,
    ) -> list[dict[str, Any]]:
        """The Linux meters of one size, plus decoys a client must exclude.

        Decoys (Windows pay-as-you-go, Linux Low Priority, Windows DevTestConsumption) are priced
        below the real on-demand meter, so a client that keeps one returns a visibly wrong price."""
        base = Decimal(str(on_demand))
        sku = sku_name(size)
        added = [self.vm_item(region, size, on_demand, effective=effective)]
        if spot is not None:
            added.append(self.vm_item(region, size, spot, sku=f"{sku} Spot", effective=effective))
        for total, term in ((reserved_1y_term_total, "1 Year"), (reserved_3y_term_total, "3 Years")):
            if total is not None:
                added.append(self.vm_item(region, size, total, "Reservation", reservation_term=term, effective=effective))
        if decoys:
            windows = f"{product_name(size)} Windows"
            added += [
                self.vm_item(region, size, base * Decimal("0.5"), product=windows, effective=effective),
                self.vm_item(region, size, base * Decimal("0.2"), sku=f"{sku} Low Priority", effective=effective),
                self.vm_item(region, size, base * Decimal("0.4"), "DevTestConsumption", product=windows, effective=effective),
            ]
        self.items.extend(added)
        return added

    def load_sample(self, path: str | Path) -> None:
        """Serve a recorded page byte for byte as the first page (whatever the filter says);
        a request with $skip (its NextPageLink) gets an empty last page."""
        self._sample = Path(path).read_bytes()

    # -- HTTP ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        if request.method != "GET" or request.path != RETAIL_PATH:
            return Reply(404, {"Error": {"Code": "NotFound", "Message": f"{request.method} {request.path}"}})
        query = {key: values[0] for key, values in request.query.items()}
        currency = query.get("currencyCode", "'USD'")
        if currency.strip("'") != "USD":
            return Reply(400, {"Error": {"Code": "BadRequest", "Message": "this fake serves USD only"}})
        skip = int(query.get("$skip", "0"))
        if self._sample is not None:
            return Reply(200, self._sample if skip == 0 else self._envelope([], None))
        try:
            clauses = _parse_filter(query.get("$filter", ""))
        except ValueError as error:
            return Reply(400, {"Error": {"Code": "BadRequest", "Message": str(error)}})
        matches = [item for item in self.items if _matches(item, clauses, query)]
        page = matches[skip : skip + self.page_size]
        link = None
        if skip + self.page_size < len(matches):
            rest = {key: value for key, value in query.items() if key != "$skip"}
            rest["$skip"] = str(skip + self.page_size)
            # Absolute and on the public host, like the real API: the client must move it.
            link = f"{RETAIL_PUBLIC_BASE}{RETAIL_PATH}?{urlencode(rest, safe=_QUERY_SAFE, quote_via=quote)}"
        self.served_links.append(link)
        return Reply(200, self._envelope(page, link))

    @staticmethod
    def _envelope(items: list[dict[str, Any]], link: str | None) -> bytes:
        return _json(
            {
                "BillingCurrency": "USD",
                "CustomerEntityId": "Default",
                "CustomerEntityType": "Retail",
                "Items": items,
                "NextPageLink": link,
                "Count": len(items),
            }
        )


def _parse_filter(text: str) -> list[tuple[str, str]]:
    """`a eq 'x' and b eq 'y'` -> [(a, x), (b, y)]; anything else is a 400, as on the real API."""
    if not text.strip():
        return []
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CLAUSE.match(part)
        if match is None:
            raise ValueError(f"unsupported $filter clause: {part!r}")
        clauses.append((match.group(1), match.group(2).replace("''", "'")))
    return clauses


def _matches(item: dict[str, Any], clauses: list[tuple[str, str]], query: dict[str, str]) -> bool:
    if query.get("meterRegion", "").strip("'") == "primary" and not item.get("isPrimaryMeterRegion"):
        return False
    for field, value in clauses:
        key = "type" if field == "priceType" else field
        # Filter values are case-sensitive since api-version 2023-01-01-preview.
        if str(item.get(key)) != value:
            return False
    return True


class AzureCostManagementFake:
    """Azure Cost Management Query - Usage, with nextLink paging and a Bearer-token check."""

    def __init__(self, page_size: int = 1000) -> None:
        self.columns: list[dict[str, str]] = [{"name": "Cost", "type": "Number"}, {"name": "Currency", "type": "String"}]
        self.rows: list[list[Any]] = []
        self.page_size = page_size
        self.queries: list[tuple[str, Any]] = []  # (scope, request body) per request
        self.tokens: list[str] = []  # the bearer tokens seen
        self.served_links: list[str | None] = []
        self.reject_auth = False  # answer 401 as ARM does for an expired/invalid token
        self._sample: bytes | None = None

    def set_rows(self, rows: list[list[Any]], columns: list[tuple[str, str]] | None = None) -> None:
        """The result rows; `columns` as (name, type) pairs, default Cost (Number), Currency (String)."""
        if columns is not None:
            self.columns = [{"name": name, "type": kind} for name, kind in columns]
        for row in rows:
            if len(row) != len(self.columns):
                raise ValueError(f"row {row!r} does not match columns {self.columns}")
        self.rows = [[Decimal(str(v)) if isinstance(v, float) else v for v in row] for row in rows]

    def load_sample(self, path: str | Path) -> None:
        """Serve the 200 body of a recorded example (azure-rest-api-specs format) verbatim."""
        example = json.loads(Path(path).read_text())
        self._sample = json.dumps(example["responses"]["200"]["body"]).encode()

    def handle(self, request: Request) -> Reply:
        match = re.match(r"^/(?P<scope>.+)/providers/Microsoft\.CostManagement/query$", request.path, re.IGNORECASE)
        if request.method != "POST" or match is None:
            return _arm_error(404, "NotFound", f"{request.method} {request.path}")
        if "api-version" not in request.query:
            return _arm_error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer ") or not authorization[len("Bearer ") :].strip():
            return _arm_error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        self.tokens.append(authorization[len("Bearer ") :])
        if self.reject_auth:
            return _arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.")
        scope = match.group("scope")
        self.queries.append((scope, request.json()))
        if self._sample is not None:
            return Reply(200, self._sample)
        skip = int(request.query.get("$skiptoken", ["0"])[0])
        page = self.rows[skip : skip + self.page_size]
        link = None
        if skip + self.page_size < len(self.rows):
            version = request.query["api-version"][0]
            link = f"{MANAGEMENT_PUBLIC_BASE}/{scope}/providers/Microsoft.CostManagement/query?api-version={version}&$skiptoken={skip + self.page_size}"
        self.served_links.append(link)
        query_id = str(uuid.uuid4())
        body = {
            "id": f"{scope}/providers/Microsoft.CostManagement/Query/{query_id}",
            "name": query_id,
            "type": "microsoft.costmanagement/Query",
            "properties": {"nextLink": link, "columns": self.columns, "rows": page},
        }
        return Reply(200, _json(body))


def _arm_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}})
