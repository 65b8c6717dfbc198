"""Azure: list prices from the Retail Prices API, month-to-date spend from Cost Management.

Two clients with different transports, on purpose:

* `AzurePriceClient` talks to the Retail Prices API (https://prices.azure.com/api/retail/prices).
  It is anonymous public REST and has no SDK, so it uses stdlib urllib with named, finite
  timeouts and `base.with_retries` for throttling and 5xx.
* `AzureSpendClient` uses `azure-mgmt-costmanagement` (Query - Usage) with an azure-identity
  credential; azure-core's own RetryPolicy does the retrying, configured from `ClientSettings`.

Importing this module imports neither an Azure SDK nor urllib.request: both are imported where
they are used, so the bundled path (pre-commit, webhook) never pays for them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import msgspec

from tollgate.providers.live.base import (
    HOURS_PER_YEAR,
    LIVE_OPTIONS,
    ON_DEMAND,
    RESERVED_1Y,
    RESERVED_3Y,
    SPOT,
    ClientSettings,
    CredentialsError,
    LiveQuote,
    MalformedResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    Spend,
    one_line,
    with_retries,
)

if TYPE_CHECKING:
    import urllib.request

RETAIL_API = "azure-retail"
COST_API = "azure-costmanagement"

RETAIL_DEFAULT_BASE = "https://prices.azure.com"
RETAIL_PATH = "/api/retail/prices"
# 2023-01-01-preview is backward compatible, returns primary and non-primary meters, and makes
# $filter values case-sensitive (so the names we send must be spelt exactly as Azure does).
RETAIL_API_VERSION = "2023-01-01-preview"

# What an armRegionName / armSkuName can look like. Anything else (quotes, spaces, parentheses)
# cannot name an Azure region or size, and must never reach the OData $filter string.
_REGION_RE = re.compile(r"^[a-z0-9]{2,40}$")
_SIZE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,79}$")

# Reservation `unitPrice` is the total for the whole term (see the sample's PROVENANCE).
_TERM_YEARS = {"1 Year": 1, "3 Years": 3}
_HOURLY_QUANTUM = Decimal("0.000000001")  # 9 places: exact enough for a $/h figure, stable in caches


# --------------------------------------------------------------------------------------------
# Retail Prices API
# --------------------------------------------------------------------------------------------


class _HttpStatus(Exception):
    """A non-2xx reply, raised inside the retry loop so the predicate can decide."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class _Unreachable(Exception):
    """The connection failed (refused, reset, DNS); worth a retry, then ProviderUnavailable."""


class _Meter(msgspec.Struct, frozen=True):
    """One Retail API item that maps to a live option."""

    option: str
    price: Decimal  # unitPrice as the API gives it (a term total for reservations)
    years: int  # reservation term in years; 0 for consumption
    primary: bool
    meter_name: str
    product_name: str
    arm_sku_name: str
    effective: str


class AzurePriceClient:
    """`LivePriceClient` for the Azure Retail Prices API (anonymous, USD list prices).

    `opener` replaces urllib's default opener (proxies, custom TLS); tests pass none and point
    `settings.endpoints["azure_retail"]` at a loopback fake instead.
    """

    provider = "azure"

    def __init__(self, settings: ClientSettings, opener: urllib.request.OpenerDirector | None = None) -> None:
        self._settings = settings
        self._opener = opener
        self._base = settings.endpoints.get("azure_retail") or RETAIL_DEFAULT_BASE

    def fetch(self, region: str, instance_type: str, options: frozenset[str]) -> list[LiveQuote]:
        """Every option the Retail API knows for (region, size); [] when it knows none.

        One query returns every meter of a size, so all options are returned whatever `options`
        asks for (the cache stores them all). A region or size that cannot be an Azure name (a
        quote, a space...) is not sent at all: no such offer exists, so the answer is [].
        """
        if not _REGION_RE.match(region) or not _SIZE_RE.match(instance_type):
            return []
        items = self._all_items(self._first_url(region, instance_type))
        meters = [meter for item in items if (meter := _meter(item, region, instance_type)) is not None]
        return _quotes(meters, region, instance_type)

    # -- HTTP ------------------------------------------------------------------------------

    def _first_url(self, region: str, size: str) -> str:
        odata = f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' and armSkuName eq '{size}'"
        query = urlencode(
            {"api-version": RETAIL_API_VERSION, "currencyCode": "'USD'", "$filter": odata},
            safe="$'",  # keep `$filter` and the OData quotes readable; spaces become %20
            quote_via=quote,
        )
        return f"{self._base}{RETAIL_PATH}?{query}"

    def _all_items(self, url: str) -> list[dict[str, Any]]:
        """Follow NextPageLink until it is null, inside one whole-lookup deadline."""
        deadline = time.monotonic() + self._settings.timeouts.lookup
        seen: set[str] = set()
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        while next_url is not None:
            if next_url in seen:
                raise MalformedResponse(RETAIL_API, f"NextPageLink repeats {next_url}")
            seen.add(next_url)
            page = _parse_page(self._get_with_retries(next_url, deadline))
            items.extend(page.items)
            next_url = None if page.next_link is None else _rebase(page.next_link, self._base, RETAIL_API)
        return items

    def _get_with_retries(self, url: str, deadline: float) -> bytes:
        policy = self._settings.retry
        last: list[Exception] = []  # the retried error, so the sleep can honour its Retry-After

        def retryable(error: Exception) -> bool:
            last[:] = [error]
            if time.monotonic() >= deadline:
                return False  # no time left for another attempt: report what we have
            if isinstance(error, _HttpStatus):
                return error.status == 429 or error.status >= 500
            return isinstance(error, _Unreachable)

        def sleep(delay: float) -> None:
            error = last[0] if last else None
            if isinstance(error, _HttpStatus) and error.retry_after is not None:
                delay = min(error.retry_after, policy.max_delay)
            time.sleep(max(0.0, min(delay, deadline - time.monotonic())))

        try:
            return with_retries(lambda: self._get_once(url, deadline), policy, retryable, sleep)
        except _HttpStatus as error:
            raise self._status_error(error.status, policy.attempts) from error
        except _Unreachable as error:
            raise ProviderUnavailable(RETAIL_API, f"cannot reach {self._base}: {error}") from error

    def _get_once(self, url: str, deadline: float) -> bytes:
        import http.client
        import urllib.error
        import urllib.request

        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ProviderTimeout(RETAIL_API, f"lookup timeout {self._settings.timeouts.lookup}s")
        read = self._settings.timeouts.read
        timeout = min(read, remaining)
        label = f"read timeout {read}s" if timeout == read else f"lookup timeout {self._settings.timeouts.lookup}s"
        opener = self._opener or urllib.request.build_opener()
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "tollgate"})
        try:
            with opener.open(request, timeout=timeout) as response:
                status = int(response.status)
                if status >= 300:  # an opener without HTTPErrorProcessor hands errors back as replies
                    raise _HttpStatus(status, _retry_after(response.headers.get("Retry-After")))
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as error:
            retry_after = _retry_after(error.headers.get("Retry-After") if error.headers else None)
            error.close()
            raise _HttpStatus(error.code, retry_after) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):  # socket.timeout is TimeoutError since 3.10
                raise ProviderTimeout(RETAIL_API, label) from error
            raise _Unreachable(str(error.reason)) from error
        except TimeoutError as error:
            raise ProviderTimeout(RETAIL_API, label) from error
        except (OSError, http.client.HTTPException) as error:  # reset, disconnect, bad status line
            raise _Unreachable(f"{type(error).__name__}: {error}") from error

    def _status_error(self, status: int, attempts: int) -> ProviderError:
        if status in (401, 403):
            return CredentialsError(
                RETAIL_API,
                f"HTTP {status} from {self._base}: the Retail Prices API is anonymous, so a proxy or "
                "the configured azure_retail endpoint rejected the request",
            )
        if status == 429:
            return ProviderUnavailable(RETAIL_API, f"throttled (HTTP 429) after {attempts} attempts or the lookup deadline")
        if status >= 500:
            return ProviderUnavailable(RETAIL_API, f"HTTP {status} after {attempts} attempts or the lookup deadline")
        return ProviderError(RETAIL_API, f"HTTP {status} from {self._base}{RETAIL_PATH}")


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _rebase(link: str, base: str, api: str) -> str:
    """Move an absolute next-page link onto our configured base URL (path and query kept).

    Azure returns absolute https://prices.azure.com:443/... (or management.azure.com) links. A
    configured endpoint (mirror, proxy, test fake) must serve every page, and we never follow a
    link to a host we were not configured for."""
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https", "") or not parts.path:
        raise MalformedResponse(api, f"next-page link is not a URL: {link[:200]}")
    target = urlsplit(base)
    return urlunsplit((target.scheme, target.netloc, target.path.rstrip("/") + parts.path, parts.query, ""))


class _Page(msgspec.Struct, frozen=True):
    items: list[dict[str, Any]]
    next_link: str | None


def _parse_page(body: bytes) -> _Page:
    try:
        # Decimal for every number: prices stay exact from the wire to the quote.
        page = json.loads(body, parse_float=Decimal)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise MalformedResponse(RETAIL_API, f"response is not JSON: {body[:80]!r}") from error
    if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
        raise MalformedResponse(RETAIL_API, "response has no Items list")
    items = page["Items"]
    if not all(isinstance(item, dict) for item in items):
        raise MalformedResponse(RETAIL_API, "an entry of Items is not an object")
    link = page.get("NextPageLink")
    if link is not None and not isinstance(link, str):
        raise MalformedResponse(RETAIL_API, f"NextPageLink is a {type(link).__name__}, not a string")
    return _Page(items, link or None)


def _text(item: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise MalformedResponse(RETAIL_API, f"item field {key} is {type(value).__name__}, not a string")
    return value


def _number(item: Mapping[str, Any], key: str) -> Decimal:
    value = item.get(key)
    # bool is an int subclass; a JSON true is not a price.
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise MalformedResponse(RETAIL_API, f"item field {key} is {type(value).__name__}, not a number")
    return Decimal(value)


def _meter(item: Mapping[str, Any], region: str, size: str) -> _Meter | None:
    """The option an item prices, or None when it is not a Linux VM price for (region, size)."""
    kind = _text(item, "type")
    product = _text(item, "productName")
    sku_name = _text(item, "skuName")
    meter_name = _text(item, "meterName")
    service = _text(item, "serviceName")
    # The $filter already asks for exactly this; a proxy or an old cache may not honour it.
    if _text(item, "armRegionName") != region or _text(item, "armSkuName").lower() != size.lower():
        return None
    # Windows meters carry the licence; Low Priority is the retired predecessor of Spot;
    # DevTestConsumption is a subscription-offer price, not the list price; Cloud Services are
    # classic PaaS roles that share VM size names.
    if "Windows" in product or "Cloud Services" in product or service != "Virtual Machines":
        return None
    if "Low Priority" in sku_name or "Low Priority" in meter_name:
        return None
    if _text(item, "currencyCode", "USD") != "USD":
        raise MalformedResponse(RETAIL_API, f"asked for USD, got {item.get('currencyCode')}")
    price = _number(item, "unitPrice")
    if price <= 0:
        return None  # a $0 line is not what a running VM costs; taking it would wave every change through
    primary = item.get("isPrimaryMeterRegion", True)
    if not isinstance(primary, bool):
        raise MalformedResponse(RETAIL_API, "item field isPrimaryMeterRegion is not a boolean")
    effective = _text(item, "effectiveStartDate", "").split("T", 1)[0]
    if kind == "Consumption":
        if _text(item, "unitOfMeasure") != "1 Hour":
            return None  # per-month or per-10-hours meters cannot be compared with an hourly price
        option, years = (SPOT if "Spot" in sku_name or "Spot" in meter_name else ON_DEMAND), 0
    elif kind == "Reservation":
        term = _TERM_YEARS.get(_text(item, "reservationTerm", ""))
        if term is None:
            return None  # e.g. 5-year terms: not an option tollgate prices
        option, years = (RESERVED_1Y if term == 1 else RESERVED_3Y), term
    else:
        return None  # DevTestConsumption, and any type Azure adds later
    return _Meter(option, price, years, primary, meter_name, product, _text(item, "armSkuName"), effective)


def _quotes(meters: list[_Meter], region: str, size: str) -> list[LiveQuote]:
    quotes: list[LiveQuote] = []
    for option in LIVE_OPTIONS:
        candidates = [meter for meter in meters if meter.option == option]
        if not candidates:
            continue
        # Several meters for one option (e.g. a regional and a primary-region meter): the
        # primary-region meter is the canonical one, and among equals the lowest price.
        chosen = min(candidates, key=lambda meter: (not meter.primary, meter.price))
        hourly, detail = _hourly(chosen)
        if len(candidates) > 1:
            kind = "primary-region meter" if chosen.primary else "meter"
            detail += f"; {len(candidates)} meters matched, chose the {kind} with the lowest price"
        quotes.append(
            LiveQuote(
                provider="azure",
                region=region,
                instance_type=chosen.arm_sku_name or size,
                option=option,
                hourly_usd=format(hourly, "f"),
                api=RETAIL_API,
                effective=chosen.effective,
                detail=detail,
            )
        )
    return quotes


def _hourly(meter: _Meter) -> tuple[Decimal, str]:
    if not meter.years:
        what = "spot meter" if meter.option == SPOT else "Linux pay-as-you-go meter"
        return meter.price, f"{what} '{meter.meter_name}' ({meter.product_name})"
    hours = HOURS_PER_YEAR * meter.years
    hourly = (meter.price / hours).quantize(_HOURLY_QUANTUM, rounding=ROUND_HALF_UP)
    total = format(meter.price.normalize(), "f")
    term = "1 year" if meter.years == 1 else f"{meter.years} years"
    return hourly, f"reservation ${total}/{term} ÷ {hours} h"


# --------------------------------------------------------------------------------------------
# Cost Management (actual spend)
# --------------------------------------------------------------------------------------------

# A tag key that is not a tag: the full scope to query, e.g.
# "subscriptions/<id>/resourceGroups/<rg>". Without it the scope is the subscription.
SCOPE_TAG = "scope"
_SCOPE_RE = re.compile(r"^(subscriptions|providers)/[A-Za-z0-9_\-.()/]+$")
_COST_COLUMNS = ("Cost", "PreTaxCost", "totalCost", "CostUSD", "PreTaxCostUSD")


class AzureSpendClient:
    """`SpendClient` for Azure Cost Management (Query - Usage, ActualCost, MonthToDate).

    * `credential`: any azure-core TokenCredential; default `DefaultAzureCredential()`, created on
      first use (it probes the environment, managed identity and the az CLI).
    * `subscription_id`: default `AZURE_SUBSCRIPTION_ID`. A tag key named "scope" (SCOPE_TAG)
      overrides the subscription scope with a full one, e.g. "subscriptions/<id>/resourceGroups/<rg>"
      or "providers/Microsoft.Billing/billingAccounts/<id>"; it is not sent as a tag filter.
    * `connection_verify`: a CA bundle path (or False) for azure-core's transport; tests use the
      loopback fake's self-signed certificate.
    """

    provider = "azure"

    def __init__(
        self,
        settings: ClientSettings,
        credential: Any | None = None,
        subscription_id: str | None = None,
        connection_verify: str | bool | None = None,
    ) -> None:
        self._settings = settings
        self._credential = credential
        self._subscription_id = subscription_id or os.environ.get("AZURE_SUBSCRIPTION_ID") or None
        self._connection_verify = connection_verify
        self._base = settings.endpoints.get("azure_management")
        self._client: Any = None

    def month_to_date(self, tags: Mapping[str, str], today: str) -> Spend:
        day = dt.date.fromisoformat(today)
        scope = self._scope(tags)
        tag_filter = {key: value for key, value in tags.items() if key != SCOPE_TAG}
        definition = _query_definition(tag_filter)
        amount = self._run(scope, definition)
        return Spend(
            provider="azure",
            amount_usd=format(amount, "f"),
            period_start=day.replace(day=1).isoformat(),
            period_end=day.isoformat(),
            api=COST_API,
            filter={**tag_filter, SCOPE_TAG: scope},
        )

    def _scope(self, tags: Mapping[str, str]) -> str:
        scope = tags.get(SCOPE_TAG)
        if scope is None:
            if not self._subscription_id:
                raise CredentialsError(COST_API, "no subscription: pass subscription_id, set AZURE_SUBSCRIPTION_ID or give a 'scope' tag")
            scope = f"subscriptions/{self._subscription_id}"
        scope = scope.strip("/")
        # The SDK puts the scope into the URL path unquoted: keep it to ARM path characters.
        if not _SCOPE_RE.match(scope) or ".." in scope or "//" in scope:
            raise ValueError(f"not an Azure Cost Management scope: {scope!r}")
        return scope

    def _run(self, scope: str, definition: Any) -> Decimal:
        deadline = time.monotonic() + self._settings.timeouts.lookup
        client = self._sdk_client()
        try:
            page = self._first_page(client, scope, definition)
            total = _page_cost(page)
            seen: set[str] = set()
            while (link := _next_link(page)) is not None:
                if link in seen:
                    raise MalformedResponse(COST_API, "nextLink repeats")
                seen.add(link)
                if time.monotonic() >= deadline:
                    raise ProviderTimeout(COST_API, f"lookup timeout {self._settings.timeouts.lookup}s")
                page = self._next_page(client, link, definition)
                total += _page_cost(page)
            return total
        except ProviderError:
            raise
        except Exception as error:
            mapped = self._map_error(error)
            if mapped is None:
                raise
            raise mapped from None  # `from None`: the SDK's error text may echo request headers

    def _first_page(self, client: Any, scope: str, definition: Any) -> Any:
        def raw(pipeline_response: Any, deserialized: Any, headers: Any) -> Any:
            return pipeline_response.http_response  # parse it ourselves: Decimal, not float

        def call() -> Any:
            return _json_body(client.query.usage(scope, definition, cls=raw))

        # azure-core retries a POST on 500/503/504, and on any error status only when it carries
        # Retry-After: a bare 429 would fail at once, so that one case is retried here.
        return with_retries(call, self._settings.retry, _throttled_without_retry_after)

    def _next_page(self, client: Any, link: str, definition: Any) -> Any:
        from azure.core.rest import HttpRequest

        url = _rebase(link, self._base, COST_API) if self._base else link
        response = client.send_request(HttpRequest("POST", url, json=definition.as_dict()))
        response.raise_for_status()
        return _json_body(response)

    def _sdk_client(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            from azure.mgmt.costmanagement import CostManagementClient
        except ImportError as error:
            raise ProviderUnavailable(COST_API, "azure-mgmt-costmanagement is not installed (pip install 'tollgate[live]')") from error
        timeouts = self._settings.timeouts
        options: dict[str, Any] = {
            "retry_policy": _azure_retry_policy(self._settings),
            "connection_timeout": timeouts.connect,
            "read_timeout": timeouts.read,
        }
        if self._connection_verify is not None:
            options["connection_verify"] = self._connection_verify
        # base_url None lets the SDK pick the ARM endpoint of the configured cloud.
        self._client = CostManagementClient(self._credential_or_default(), base_url=self._base or None, **options)
        return self._client

    def _credential_or_default(self) -> Any:
        if self._credential is None:
            try:
                from azure.identity import DefaultAzureCredential
            except ImportError as error:
                raise ProviderUnavailable(COST_API, "azure-identity is not installed (pip install 'tollgate[live]')") from error
            self._credential = DefaultAzureCredential()
        return self._credential

    def _map_error(self, error: Exception) -> ProviderError | None:
        from azure.core.exceptions import (
            AzureError,
            ClientAuthenticationError,
            DecodeError,
            DeserializationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceRequestTimeoutError,
            ServiceResponseError,
            ServiceResponseTimeoutError,
        )

        timeouts = self._settings.timeouts
        if isinstance(error, ClientAuthenticationError):  # includes CredentialUnavailableError
            return CredentialsError(COST_API, f"{type(error).__name__}: {_one_line(error)}")
        if isinstance(error, DecodeError):
            return MalformedResponse(COST_API, f"response is not JSON: {_one_line(error)}")
        if isinstance(error, DeserializationError):  # the SDK could not read its own model
            return MalformedResponse(COST_API, f"unexpected response shape: {_one_line(error)}")
        if isinstance(error, HttpResponseError):
            status = error.status_code or 0
            if status in (401, 403):
                return CredentialsError(COST_API, f"HTTP {status}, the credential was rejected for this scope: {_one_line(error)}")
            if status == 429 or status >= 500:
                return ProviderUnavailable(COST_API, f"HTTP {status} after retries")
            return ProviderError(COST_API, f"HTTP {status}: {_one_line(error)}")
        if isinstance(error, ServiceRequestTimeoutError):
            return ProviderTimeout(COST_API, f"connect timeout {timeouts.connect}s")
        if isinstance(error, ServiceResponseTimeoutError):
            return ProviderTimeout(COST_API, f"read timeout {timeouts.read}s")
        if isinstance(error, (ServiceRequestError, ServiceResponseError, AzureError)):
            return ProviderUnavailable(COST_API, f"{type(error).__name__}: {_one_line(error)}")
        return None


def _azure_retry_policy(settings: ClientSettings) -> Any:
    """azure-core's RetryPolicy from our settings, with Retry-After capped by max_delay.

    azure-core sleeps for whatever Retry-After says (uncapped) and defaults to 10 retries and a
    7-day overall timeout; here attempts, backoff and the whole-operation timeout are ours."""
    from azure.core.pipeline.policies import RetryPolicy as AzureRetryPolicy

    cap = settings.retry.max_delay

    class _CappedRetryPolicy(AzureRetryPolicy[Any, Any]):
        def get_retry_after(self, response: Any) -> float | None:
            value = super().get_retry_after(response)
            return None if value is None else min(value, cap)

    return _CappedRetryPolicy(
        retry_total=max(0, settings.retry.attempts - 1),
        retry_backoff_factor=settings.retry.base_delay,
        retry_backoff_max=settings.retry.max_delay,
        timeout=settings.timeouts.lookup,
    )


def _throttled_without_retry_after(error: Exception) -> bool:
    from azure.core.exceptions import HttpResponseError

    if not isinstance(error, HttpResponseError) or error.status_code != 429:
        return False
    response: Any = error.response  # typed as the common API, which does not declare headers
    return response is None or not response.headers.get("Retry-After")


def _query_definition(tags: Mapping[str, str]) -> Any:
    from azure.mgmt.costmanagement.models import (
        QueryAggregation,
        QueryComparisonExpression,
        QueryDataset,
        QueryDefinition,
        QueryFilter,
    )

    clauses = [
        QueryFilter(tags=QueryComparisonExpression(name=key, operator="In", values_property=[value]))
        for key, value in sorted(tags.items())
    ]
    # The API wants "and" with at least two operands; one tag is a bare clause, none is no filter.
    query_filter = None if not clauses else clauses[0] if len(clauses) == 1 else QueryFilter(and_property=clauses)
    return QueryDefinition(
        type="ActualCost",
        timeframe="MonthToDate",
        dataset=QueryDataset(
            granularity="None",
            aggregation={"totalCost": QueryAggregation(name="Cost", function="Sum")},
            filter=query_filter,
        ),
    )


def _json_body(response: Any) -> Any:
    """The JSON of a query reply with exact Decimals; {} for 204 (the API's "no data")."""
    if response is None or response.status_code == 204:
        return {}
    try:
        return json.loads(response.text(), parse_float=Decimal)
    except ValueError as error:
        raise MalformedResponse(COST_API, "response is not JSON") from error


def _properties(page: Any) -> Mapping[str, Any]:
    if not isinstance(page, dict):
        raise MalformedResponse(COST_API, "response is not an object")
    if not page:
        return {}
    properties = page.get("properties")
    if not isinstance(properties, dict):
        raise MalformedResponse(COST_API, "response has no properties object")
    return properties


def _next_link(page: Any) -> str | None:
    link = _properties(page).get("nextLink")
    if link is not None and not isinstance(link, str):
        raise MalformedResponse(COST_API, "nextLink is not a string")
    return link or None


def _page_cost(page: Any) -> Decimal:
    """Sum the cost column of one page, after checking every row is in USD."""
    properties = _properties(page)
    columns, rows = properties.get("columns", []), properties.get("rows", [])
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise MalformedResponse(COST_API, "columns/rows are not lists")
    if not rows:
        return Decimal(0)
    names = [column.get("name") if isinstance(column, dict) else None for column in columns]
    cost_index = next((names.index(name) for name in _COST_COLUMNS if name in names), None)
    if cost_index is None:
        raise MalformedResponse(COST_API, f"no cost column among {names}")
    currency_index = names.index("Currency") if "Currency" in names else None
    total = Decimal(0)
    for row in rows:
        if not isinstance(row, list) or len(row) != len(names):
            raise MalformedResponse(COST_API, "a row does not match the columns")
        if currency_index is None or row[currency_index] != "USD":
            currency = None if currency_index is None else row[currency_index]
            raise MalformedResponse(COST_API, f"cost is in {currency or 'an unstated currency'}, not USD")
        value = row[cost_index]
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise MalformedResponse(COST_API, f"cost {value!r} is not a number")
        total += Decimal(value)
    return total


def _one_line(error: BaseException) -> str:
    """The first line of an SDK error's message (DefaultAzureCredential's is a page long)."""
    return one_line(getattr(error, "message", None) or error) or type(error).__name__


__all__ = ["SCOPE_TAG", "AzurePriceClient", "AzureSpendClient"]
