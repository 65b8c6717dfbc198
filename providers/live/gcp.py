"""Live Compute Engine prices from the Cloud Billing Catalog API (google-cloud-billing, REST).

GCP sells no "machine" SKU: a VM is billed per vCPU-hour and per GiB-hour of its series (plus, for
A2/A3/G2, per bundled GPU-hour). So this client downloads the Compute Engine SKU list once, turns
it into a rate table keyed (family, resource, usage, region), and answers every `fetch` from
memory by composing vcpu × core + memory × ram (+ gpus × gpu) with the shape from `spec_lookup`.

The SKU list is a few thousand SKUs (a couple of 5000-SKU pages). It is downloaded once per client
object, under a lock, so fifty concurrent `fetch` calls share one download.

Importing this module imports no Google library: they cost ~27x a bare interpreter start, and
the bundled pre-commit path must not pay for them. They are imported on the first download.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import msgspec

from tollgate.engine.gpus import GCP_ACCELERATOR_MODELS
from tollgate.providers.live.base import (
    LIVE_OPTIONS,
    ON_DEMAND,
    RESERVED_1Y,
    RESERVED_3Y,
    SPOT,
    ClientSettings,
    CredentialsError,
    LiveQuote,
    MachineShape,
    MalformedResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    SpecLookup,
    one_line,
    plain_decimal,
    with_retries,
)

if TYPE_CHECKING:
    from google.cloud.billing_v1 import CloudCatalogClient, ListSkusResponse, PricingInfo, Sku

API = "gcp-billing"
COMPUTE_ENGINE_SERVICE = "services/6F81-5844-456A"
BILLING_SCOPE = "https://www.googleapis.com/auth/cloud-billing.readonly"
PAGE_SIZE = 5000  # the API's maximum: fewer round trips for the whole catalog

# category.usageType -> the option it prices. Anything else (e.g. future commitment kinds) is skipped.
USAGE_TYPES = {"OnDemand": ON_DEMAND, "Preemptible": SPOT, "Commit1Yr": RESERVED_1Y, "Commit3Yr": RESERVED_3Y}

# The series text of core/RAM SKU descriptions, once "Instance"/"Predefined" are dropped, by family:
# "N1 Predefined Instance Core running in Americas", "Compute optimized Ram running in EMEA",
# "Commitment v1: N2D AMD Cpu in APAC for 1 Year". Families not listed here are not composed.
SERIES_FAMILIES = {
    "n1": "n1",
    "n2": "n2",
    "n2d amd": "n2d",
    "e2": "e2",
    "compute optimized": "c2",
    "c2d amd": "c2d",
    "c3": "c3",
    "c3d": "c3d",
    "c4": "c4",
    "c4d": "c4d",
    "t2d amd": "t2d",
    "a2": "a2",
    "a3": "a3",
    "g2": "g2",
}
COMPOSABLE_FAMILIES = frozenset(SERIES_FAMILIES.values())

# GPU SKU model text ("Nvidia Tesla A100 80GB GPU running in ...") -> accelerator id and label.
GPU_MODELS = {
    "t4": ("nvidia-tesla-t4", "T4"),
    "v100": ("nvidia-tesla-v100", "V100"),
    "p100": ("nvidia-tesla-p100", "P100"),
    "p4": ("nvidia-tesla-p4", "P4"),
    "k80": ("nvidia-tesla-k80", "K80"),
    "a100": ("nvidia-tesla-a100", "A100"),
    "a100 80gb": ("nvidia-a100-80gb", "A100 80GB"),
    "l4": ("nvidia-l4", "L4"),
    "h100 80gb": ("nvidia-h100-80gb", "H100 80GB"),
    "h100 80gb mega": ("nvidia-h100-mega-80gb", "H100 80GB Mega"),
}
GPU_LABELS = dict(GPU_MODELS.values())

# Machine types whose core/RAM SKUs are the family's plain "Instance" ones and whose GPUs are billed
# per GPU. Other A3 shapes (megagpu, ultragpu, edgegpu) use A3Plus/Mega/H200 SKUs: not composed.
BUNDLED_GPU_TYPES = ("a2-highgpu-", "a2-megagpu-", "a2-ultragpu-", "a3-highgpu-", "g2-standard-")
# These (and every "-lssd" type) come with local SSD, billed under its own SKU: not in the composed price.
BUNDLED_LOCAL_SSD_TYPES = ("a2-ultragpu-", "a3-highgpu-")
# Shared-core types are billed by their own fractional SKUs; the bundled catalog prices them.
SHARED_CORE_TYPES = frozenset({"e2-micro", "e2-small", "e2-medium", "f1-micro", "g1-small"})

ANY_FAMILY = "*"  # GPU rates do not depend on the machine family they are attached to
HOURLY = "h"
GIB_HOURLY = "GiBy.h"
NANOS = Decimal("1e-9")  # the API's own precision; converted prices are rounded to it

# Words that mark SKUs which are not the plain price of a predefined VM, even where the series
# text would otherwise match (checked first, so a new spelling cannot slip through).
EXCLUDED_WORDS = ("sole tenan", "custom", "extended", "windows", "licen", "virtual workstation", "reserved")
PREFIXES = ("commitment v1:", "commitment:", "spot preemptible", "preemptible")

_CORE_OR_RAM = re.compile(r"^(?P<series>.*?)\s*\b(?P<resource>core|cpu|ram)\s+(?:running\s+)?in\b", re.IGNORECASE)
_REQUEST_PREFIX = re.compile(r"^[A-Z]+ \S+: ")
_GPU = re.compile(r"^nvidia\s+(?:tesla\s+)?(?P<model>.+?)\s+gpu\b", re.IGNORECASE)

RateKey = tuple[str, str, str, str]  # (family, resource "core"|"ram"|"gpu:<accelerator>", option, region)
# A plain function works as well as a SpecLookup (mypy sees its parameters as positional-only).
ShapeFunction = Callable[[str, str], "MachineShape | None"]


class SkuKind(msgspec.Struct, frozen=True):
    """What a SKU prices: one resource of one family, in the unit that resource must be sold in."""

    family: str
    resource: str
    unit: str


class Rate(msgspec.Struct, frozen=True):
    """One USD price per unit-hour, with where it came from."""

    usd: Decimal
    effective: str  # YYYY-MM-DD, or "" when the SKU has no effectiveTime
    sku_id: str
    description: str
    conversion: str = ""  # "IDR at 14999.999925 per USD" when the SKU was not priced in USD


class Part(msgspec.Struct, frozen=True):
    """One term of a composed machine price."""

    family: str
    resource: str
    quantity: Decimal
    label: str  # "vCPU", "GiB", "A100"


def classify_sku(description: str) -> SkuKind | None:
    """The family and resource a Compute Engine SKU description prices, or None to skip it."""
    text = " ".join(description.split())
    lowered = text.lower()
    if any(word in lowered for word in EXCLUDED_WORDS):
        return None
    prefix = next((prefix for prefix in PREFIXES if lowered.startswith(prefix)), "")
    text = text[len(prefix) :].strip()
    gpu = _GPU.match(text)
    if gpu:
        model = GPU_MODELS.get(gpu.group("model").lower())
        return SkuKind(ANY_FAMILY, f"gpu:{model[0]}", HOURLY) if model else None
    match = _CORE_OR_RAM.match(text)
    if match is None:
        return None
    series = " ".join(word for word in match.group("series").lower().split() if word not in ("instance", "predefined"))
    if not series and prefix.startswith("commitment"):
        series = "n1"  # N1 commitments name no series: "Commitment v1: Cpu in Americas for 1 Year"
    family = SERIES_FAMILIES.get(series)
    if family is None:
        return None
    if match.group("resource").lower() == "ram":
        return SkuKind(family, "ram", GIB_HOURLY)
    return SkuKind(family, "core", HOURLY)


class RateTable:
    """USD rates per (family, resource, option, region), built from ListSkus pages."""

    def __init__(self) -> None:
        self.rates: dict[RateKey, Rate] = {}
        self.skus_seen = 0

    def add_page(self, skus: Iterable[Sku]) -> None:
        for sku in skus:
            self.skus_seen += 1
            for key, rate in _rates_of(sku):
                known = self.rates.get(key)
                # Two SKUs for one key (an old "Preemptible" next to "Spot Preemptible"): the newer wins.
                if known is None or rate.effective > known.effective:
                    self.rates[key] = rate

    def get(self, family: str, resource: str, option: str, region: str) -> Rate | None:
        return self.rates.get((family, resource, option, region))


def _rates_of(sku: Sku) -> Iterator[tuple[RateKey, Rate]]:
    category = sku.category
    if category.resource_family != "Compute":
        return
    option = USAGE_TYPES.get(category.usage_type)
    kind = classify_sku(sku.description)
    if option is None or kind is None:
        return
    info = _current_pricing(sku)
    if info.pricing_expression.usage_unit != kind.unit:
        return  # e.g. a monthly fee: not an hourly rate
    rate = _rate_of(sku, info)
    if rate.usd == 0:
        return  # a free SKU is never the price of a VM; better no rate than a $0 machine
    regions = list(sku.service_regions) or list(sku.geo_taxonomy.regions)
    for region in regions:
        yield (kind.family, kind.resource, option, region), rate


def _current_pricing(sku: Sku) -> PricingInfo:
    """The newest pricingInfo (the API sends only the current one unless asked for history)."""
    if not sku.pricing_info:
        raise MalformedResponse(API, f"SKU {sku.sku_id} ({sku.description}) has no pricingInfo")
    dated = [info for info in sku.pricing_info if "effective_time" in info]
    info = max(dated, key=lambda info: info.effective_time) if dated else sku.pricing_info[-1]
    if "pricing_expression" not in info:
        raise MalformedResponse(API, f"SKU {sku.sku_id} ({sku.description}) has no pricingExpression")
    return info


def _rate_of(sku: Sku, info: PricingInfo) -> Rate:
    """The base-tier unit price of a SKU in USD (exact when the API priced it in USD)."""
    tier = next((tier for tier in info.pricing_expression.tiered_rates if tier.start_usage_amount == 0), None)
    if tier is None or "unit_price" not in tier:
        raise MalformedResponse(API, f"SKU {sku.sku_id} ({sku.description}) has no tier starting at 0")
    money = tier.unit_price
    amount = Decimal(money.units) + Decimal(money.nanos).scaleb(-9)
    if amount < 0 or not money.currency_code:
        raise MalformedResponse(API, f"SKU {sku.sku_id} ({sku.description}) has an invalid unitPrice")
    effective = info.effective_time.date().isoformat() if "effective_time" in info else ""
    if money.currency_code == "USD":
        return Rate(amount, effective, sku.sku_id, sku.description)
    # currencyConversionRate is "USD × rate = local", so USD = local / rate.
    per_usd = Decimal(repr(info.currency_conversion_rate))
    if per_usd <= 0:
        raise MalformedResponse(API, f"SKU {sku.sku_id} is priced in {money.currency_code} without a conversion rate")
    usd = (amount / per_usd).quantize(NANOS)
    return Rate(usd, effective, sku.sku_id, sku.description, f"{money.currency_code} at {plain_decimal(per_usd)} per USD")


def machine_parts(instance_type: str, shape: MachineShape) -> list[Part] | None:
    """The terms of a machine's composed price, or None when the type cannot be composed."""
    name = instance_type.lower()
    family = name.split("-", 1)[0]
    if name in SHARED_CORE_TYPES or family not in COMPOSABLE_FAMILIES:
        return None
    parts = [Part(family, "core", _decimal(shape.vcpu), "vCPU"), Part(family, "ram", _decimal(shape.memory_gib), "GiB")]
    bundles_gpus = name.startswith(BUNDLED_GPU_TYPES)
    if family in ("a2", "a3", "g2") and not bundles_gpus:
        return None
    if not bundles_gpus:
        return parts if shape.gpu_count == 0 else None
    accelerator = _accelerator_for(shape.gpu_model)
    if accelerator is None or shape.gpu_count <= 0:
        return None
    parts.append(Part(ANY_FAMILY, f"gpu:{accelerator}", _decimal(shape.gpu_count), GPU_LABELS[accelerator]))
    return parts


def _accelerator_for(gpu_model: str | None) -> str | None:
    """The accelerator id of a catalog GPU model name (the first id wins: H100-80GB is not Mega)."""
    for accelerator, model in GCP_ACCELERATOR_MODELS.items():
        if model == gpu_model and accelerator in GPU_LABELS:
            return accelerator
    return None


def compose(table: RateTable, region: str, option: str, parts: list[Part]) -> tuple[Decimal, list[Rate]] | None:
    """Sum of quantity × rate over the parts, or None when any rate is missing (never a partial price)."""
    total = Decimal(0)
    rates: list[Rate] = []
    for part in parts:
        rate = table.get(part.family, part.resource, option, region)
        if rate is None:
            return None
        total += part.quantity * rate.usd
        rates.append(rate)
    return total, rates


def composed_detail(instance_type: str, parts: list[Part], rates: list[Rate]) -> str:
    terms = " + ".join(f"{plain_decimal(part.quantity)} {part.label} × ${plain_decimal(rate.usd)}" for part, rate in zip(parts, rates))
    detail = f"composed: {terms}"
    conversions = sorted({rate.conversion for rate in rates if rate.conversion})
    if conversions:
        detail += f"; converted from {', '.join(conversions)}"
    if instance_type.lower().startswith(BUNDLED_LOCAL_SSD_TYPES) or instance_type.lower().endswith("-lssd"):
        detail += "; excludes the bundled local SSD (billed under its own SKU)"
    return detail


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


def _api_message(error: Any) -> str:
    """An HTTP error's own message, without the "GET <url>: " api_core puts in front of it."""
    return one_line(_REQUEST_PREFIX.sub("", str(error.message), count=1))


class _ConnectAndReadTimeout:
    """An api_core timeout decorator passing requests a (connect, read) pair.

    A bare number would be used by requests for both; api_core's own ConstantTimeout is deprecated."""

    def __init__(self, connect: float, read: float) -> None:
        self.value = (connect, read)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def with_timeout(*args: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = self.value
            return func(*args, **kwargs)

        return with_timeout


class _LookupBudgetSpent(Exception):
    """Raised instead of sleeping when the next retry would start after the lookup deadline."""


class GcpPriceClient:
    """Compute Engine prices composed from the Cloud Billing Catalog's per-resource SKUs."""

    provider = "gcp"

    def __init__(self, settings: ClientSettings, spec_lookup: SpecLookup | ShapeFunction, credentials: Any | None = None) -> None:
        self._settings = settings
        self._spec_lookup = spec_lookup
        self._credentials = credentials
        self._lock = threading.Lock()
        self._table: RateTable | None = None
        self._finished = 0  # downloads ended; lets callers queued behind a failed one share its error
        self._failure: ProviderError | None = None

    # --- the LivePriceClient contract -------------------------------------------------------------

    def fetch(self, region: str, instance_type: str, options: frozenset[str]) -> list[LiveQuote]:
        """Every option the catalog prices for this machine in this region ([] when none).

        The one download holds all four options, so all are returned (the contract allows it and
        the cache fills in one go); `options` does not save any call here."""
        shape = self._spec_lookup("gcp", instance_type)
        parts = machine_parts(instance_type, shape) if shape is not None else None
        if parts is None:
            return []
        table = self.rate_table()
        quotes = []
        for option in LIVE_OPTIONS:
            composed = compose(table, region, option, parts)
            if composed is None:
                continue
            total, rates = composed
            quotes.append(self._quote(region, instance_type, option, total, rates, composed_detail(instance_type, parts, rates)))
        return quotes

    def accelerator_fetch(self, region: str, accelerator_type: str, options: frozenset[str]) -> list[LiveQuote]:
        """Per-GPU prices of an attachable accelerator (nvidia-tesla-t4 on N1...); instance_type is its id."""
        table = self.rate_table()
        quotes = []
        for option in LIVE_OPTIONS:
            rate = table.get(ANY_FAMILY, f"gpu:{accelerator_type}", option, region)
            if rate is None:
                continue
            detail = f"per GPU: SKU {rate.sku_id} {rate.description!r}"
            if rate.conversion:
                detail += f"; converted from {rate.conversion}"
            quotes.append(self._quote(region, accelerator_type, option, rate.usd, [rate], detail))
        return quotes

    def _quote(self, region: str, name: str, option: str, usd: Decimal, rates: list[Rate], detail: str) -> LiveQuote:
        effective = max((rate.effective for rate in rates), default="")
        return LiveQuote("gcp", region, name, option, plain_decimal(usd), API, effective, detail)

    # --- the one download -------------------------------------------------------------------------

    def rate_table(self) -> RateTable:
        """The rate table, downloaded on first use; concurrent callers wait for the same download."""
        ticket = self._finished
        with self._lock:
            if self._table is not None:
                return self._table
            if self._failure is not None and self._finished != ticket:
                # A download ended in failure while we waited for it: share its answer instead of
                # queueing one more full retry cycle per waiting thread. Later callers try again.
                raise type(self._failure)(self._failure.provider, self._failure.message)
            try:
                self._table = self._download()
            except ProviderError as error:
                self._failure = error
                raise
            finally:
                self._finished += 1
            return self._table

    def _download(self) -> RateTable:
        """Every page of the Compute Engine SKU list, within one lookup deadline."""
        deadline = time.monotonic() + self._settings.timeouts.lookup
        catalog = self._catalog_client()
        table = RateTable()
        token = ""
        seen_tokens: set[str] = set()
        try:
            while True:
                page = self._fetch_page(catalog, token, deadline)
                table.add_page(page.skus)
                token = page.next_page_token
                if not token:
                    return table
                if token in seen_tokens:
                    raise MalformedResponse(API, "ListSkus returned a nextPageToken it had already returned")
                seen_tokens.add(token)
        finally:
            transport: Any = catalog.transport  # close() is untyped in the SDK
            transport.close()  # the table is all we keep; release the HTTP session

    def _fetch_page(self, catalog: CloudCatalogClient, token: str, deadline: float) -> ListSkusResponse:
        """One ListSkus page, retried with backoff and jitter on throttling, 5xx and lost connections."""
        timeouts = self._settings.timeouts
        request = {"parent": COMPUTE_ENGINE_SERVICE, "currency_code": "USD", "page_size": PAGE_SIZE, "page_token": token}
        attempts = 0

        def call() -> ListSkusResponse:
            nonlocal attempts
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderTimeout(API, f"the SKU download ran past the {timeouts.lookup:g}s lookup limit")
            attempts += 1
            cut_by_lookup = remaining < timeouts.read
            timeout = _ConnectAndReadTimeout(timeouts.connect, min(timeouts.read, remaining))
            try:
                # retry=None: the retrying is ours (finite attempts, jitter, one deadline for all pages).
                pager = catalog.list_skus(request=request, retry=None, timeout=timeout)
                return next(iter(pager.pages))  # the first "page" is the response just received
            except Exception as error:
                if cut_by_lookup and _is_timeout(error):
                    # The wait was what was left of the lookup, not the read timeout: say so.
                    raise ProviderTimeout(API, f"the SKU download ran past the {timeouts.lookup:g}s lookup limit") from error
                raise

        def sleep(seconds: float) -> None:
            if time.monotonic() + seconds >= deadline:
                raise _LookupBudgetSpent()
            time.sleep(seconds)

        try:
            return with_retries(call, self._settings.retry, _retryable, sleep=sleep)
        except ProviderError:
            raise
        except _LookupBudgetSpent as stop:
            last = stop.__context__  # the error we were about to retry
            translated = _translate(last, attempts, self._settings) if isinstance(last, Exception) else None
            if translated is None:
                raise ProviderTimeout(API, "the lookup limit ran out while retrying") from last
            limit = f"; gave up at the {timeouts.lookup:g}s lookup limit"
            raise type(translated)(translated.provider, translated.message + limit) from last
        except Exception as error:
            translated = _translate(error, attempts, self._settings)
            if translated is None:
                raise
            raise translated from error

    def _catalog_client(self) -> CloudCatalogClient:
        from google.api_core.client_options import ClientOptions
        from google.cloud import billing_v1

        endpoint = self._settings.endpoints.get("gcp_billing")
        # The REST transport keeps an explicit http:// or https:// in api_endpoint and prepends
        # https:// to a bare host, so a loopback fake needs "http://127.0.0.1:port".
        options = ClientOptions(api_endpoint=endpoint) if endpoint else None
        try:
            return billing_v1.CloudCatalogClient(credentials=self._resolve_credentials(), transport="rest", client_options=options)
        except ProviderError:
            raise
        except Exception as error:
            translated = _translate(error, 0, self._settings)
            if translated is None:
                raise
            raise translated from error

    def _resolve_credentials(self) -> Any:
        """The injected credentials, else Application Default Credentials (env key file, gcloud,
        workload identity, metadata server)."""
        if self._credentials is not None:
            return self._credentials
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, _project = google.auth.default(scopes=[BILLING_SCOPE])
        except DefaultCredentialsError as error:
            # One line, no chained traceback: a broken key file's parse error could quote it.
            raise CredentialsError(API, f"no Application Default Credentials: {one_line(error)}") from None
        return credentials


def _retryable(error: Exception) -> bool:
    import requests
    from google.api_core import exceptions as api

    if isinstance(error, (api.TooManyRequests, api.InternalServerError, api.BadGateway, api.ServiceUnavailable, api.GatewayTimeout)):
        return True
    return isinstance(error, requests.exceptions.ConnectionError) and not _is_read_timeout(error)


def _is_timeout(error: Exception) -> bool:
    import requests

    return isinstance(error, requests.exceptions.Timeout) or _is_read_timeout(error)


def _is_read_timeout(error: Exception) -> bool:
    """requests reports a read timeout that hits mid-body as a ConnectionError wrapping urllib3's."""
    import requests
    from urllib3.exceptions import ReadTimeoutError

    if isinstance(error, requests.exceptions.ReadTimeout):
        return True
    return bool(error.args) and isinstance(error.args[0], ReadTimeoutError)


def _translate(error: Exception, attempts: int, settings: ClientSettings) -> ProviderError | None:
    """The ProviderError for an SDK, transport or auth failure; None for anything unexpected."""
    import requests
    from google.api_core import exceptions as api
    from google.auth.exceptions import GoogleAuthError
    from google.protobuf.json_format import ParseError

    tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
    if isinstance(error, ProviderError):
        return error
    if isinstance(error, api.RetryError) and isinstance(error.cause, Exception):
        return _translate(error.cause, attempts, settings)
    if isinstance(error, (api.Unauthorized, api.Forbidden)):
        return CredentialsError(API, f"HTTP {error.code}: {_api_message(error)}")
    if isinstance(error, api.DeadlineExceeded):
        return ProviderTimeout(API, f"deadline exceeded: {_api_message(error)}")
    if isinstance(error, api.GoogleAPICallError):
        code = error.code
        message = f"HTTP {code}{tries}: {_api_message(error)}"
        if isinstance(error, api.TooManyRequests) or (isinstance(code, int) and code >= 500):
            return ProviderUnavailable(API, message)
        return ProviderError(API, message)
    if _is_timeout(error):
        return ProviderTimeout(API, f"no answer within the {settings.timeouts.read:g}s read timeout")
    if isinstance(error, requests.exceptions.RequestException):
        return ProviderUnavailable(API, f"connection failed{tries}: {one_line(error)}")
    if isinstance(error, ParseError):
        return MalformedResponse(API, f"the ListSkus response is not a ListSkusResponse: {one_line(error)}")
    if isinstance(error, GoogleAuthError):
        return CredentialsError(API, f"{type(error).__name__}: {one_line(error)}")
    return None
