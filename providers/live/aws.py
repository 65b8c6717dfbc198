"""AWS live prices and month-to-date spend, through boto3.

* `AwsPriceClient`: on-demand and standard reserved prices from the Price List API (`pricing`,
  GetProducts), spot from EC2 DescribeSpotPriceHistory (median of each zone's current price).
* `AwsSpendClient`: month-to-date unblended cost from Cost Explorer (GetCostAndUsage), by tags.

boto3/botocore are imported when a client is constructed, never at module import, so the bundled
path does not pay for them. Every botocore failure leaves this module as a `ProviderError`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import msgspec

from tollgate.providers.live.base import (
    HOURS_PER_YEAR,
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
    plain_decimal,
)

if TYPE_CHECKING:
    import boto3

PROVIDER = "aws"
API_PRICING = "aws-pricing"
API_SPOT = "aws-ec2-spot"
API_CE = "aws-ce"

# The Price List and Cost Explorer APIs are global services answered from us-east-1.
GLOBAL_REGION = "us-east-1"

# The product a Linux on-demand price belongs to (the Price List attributes; values as AWS spells them).
_PRODUCT_FILTER = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
}
_RESERVED_TERMS = {RESERVED_1Y: "1yr", RESERVED_3Y: "3yr"}
_TERM_YEARS = {"1yr": 1, "3yr": 3}
# Amortised all-upfront prices do not terminate; 10 places is the precision the Price List uses.
_AMORTISED_PLACES = Decimal("1e-10")

_CREDENTIAL_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "UnauthorizedOperation",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "IncompleteSignature",
    "InvalidSignatureException",
}
_CREDENTIAL_PREFIXES = ("ExpiredToken", "AccessDenied")
_THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "EC2ThrottledException",
}
# Access key ids in a server message (SignatureDoesNotMatch echoes the credential scope).
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{12,}\b")


# --------------------------------------------------------------------------- boto3 plumbing


def _boto_config(settings: ClientSettings) -> Any:
    from botocore.config import Config

    # total_max_attempts counts the first request, which is what RetryPolicy.attempts means; the
    # older `max_attempts` key counts retries only. Standard mode backs off with jitter on
    # throttling, 5xx, timeouts and dropped connections.
    return Config(
        connect_timeout=settings.timeouts.connect,
        read_timeout=settings.timeouts.read,
        retries={"total_max_attempts": max(1, settings.retry.attempts), "mode": "standard"},
        user_agent_extra="tollgate",
    )


class _Clients:
    """boto3 clients made once, from one Session, under a lock (Sessions are not thread-safe;
    the clients they make are)."""

    def __init__(self, settings: ClientSettings, session: boto3.session.Session | None) -> None:
        import boto3 as boto3_module

        self._settings = settings
        self._session: Any = session if session is not None else boto3_module.session.Session()
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def get(self, service: str, region: str, endpoint_key: str) -> Any:
        """The `service` client for `region`, made on first use (credentials resolve then too)."""
        key = (service, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._session.client(
                    service,
                    region_name=region,
                    # None leaves boto3 to its own default (which honours AWS_ENDPOINT_URL_<SERVICE>).
                    endpoint_url=self._settings.endpoints.get(endpoint_key),
                    config=_boto_config(self._settings),
                )
                self._clients[key] = client
            return client


# --------------------------------------------------------------------------- error mapping


def _redact(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return _ACCESS_KEY_ID.sub("<access-key-id>", first_line)[:200]


def _client_error(api: str, error: Any) -> ProviderError:
    """Map a botocore ClientError (the service answered with an error) to our tree."""
    response: Mapping[str, Any] = getattr(error, "response", None) or {}
    details: Mapping[str, Any] = response.get("Error") or {}
    metadata: Mapping[str, Any] = response.get("ResponseMetadata") or {}
    code = str(details.get("Code") or "")
    status = int(metadata.get("HTTPStatusCode") or 0)
    attempts = int(metadata.get("RetryAttempts") or 0) + 1
    message = _redact(str(details.get("Message") or ""))
    if code in _CREDENTIAL_CODES or code.startswith(_CREDENTIAL_PREFIXES) or status in (401, 403):
        hint = f": {message}" if message and not message.startswith("<") else ""
        return CredentialsError(api, f"AWS rejected the credentials ({code or status}, HTTP {status}){hint}")
    if code in _THROTTLING_CODES or status == 429:
        return ProviderUnavailable(api, f"throttled ({code}) after {attempts} attempts")
    if status >= 500:
        return ProviderUnavailable(api, f"HTTP {status} ({code}) after {attempts} attempts")
    return ProviderError(api, f"{code or status}: {message}")


def _botocore_error(api: str, error: Exception, settings: ClientSettings) -> ProviderError:
    """Map any botocore exception; messages never carry key material (botocore's do not either,
    but ours are written from scratch to be sure)."""
    from botocore import exceptions as bex
    from botocore.parsers import ResponseParserError

    timeouts = settings.timeouts
    if isinstance(error, bex.ClientError):
        return _client_error(api, error)
    if isinstance(error, (bex.NoCredentialsError, bex.PartialCredentialsError)):
        return CredentialsError(api, "no complete AWS credentials found (env, shared files, SSO, instance role)")
    if isinstance(error, (bex.CredentialRetrievalError, bex.ProfileNotFound, bex.TokenRetrievalError, bex.SSOError)):
        return CredentialsError(api, f"AWS credentials could not be loaded ({type(error).__name__})")
    if isinstance(error, bex.ReadTimeoutError):
        return ProviderTimeout(api, f"read timeout {timeouts.read}s")
    if isinstance(error, bex.ConnectTimeoutError):
        return ProviderTimeout(api, f"connect timeout {timeouts.connect}s")
    if isinstance(error, (bex.EndpointConnectionError, bex.ConnectionClosedError, bex.ConnectionError, bex.HTTPClientError)):
        return ProviderUnavailable(api, f"connection failed ({type(error).__name__})")
    if isinstance(error, ResponseParserError):
        return MalformedResponse(api, "the response could not be parsed")
    return ProviderError(api, f"{type(error).__name__}: {_redact(str(error))}")


@contextmanager
def _calling(api: str, settings: ClientSettings) -> Iterator[None]:
    """Turn botocore exceptions and payload surprises inside the block into ProviderErrors."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    try:
        yield
    except ProviderError:
        raise
    except (BotoCoreError, ClientError, ResponseParserError) as error:
        mapped = _botocore_error(api, error, settings)
        # A rejected-credentials cause may quote the request's credential scope: keep it out of tracebacks.
        raise mapped from (None if isinstance(mapped, CredentialsError) else error)
    except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as error:
        # json.JSONDecodeError is a ValueError; a missing key or a null where a dict belongs too.
        raise MalformedResponse(api, f"unexpected payload ({type(error).__name__}: {error})") from error


class _Deadline:
    """The whole-lookup ceiling (Timeouts.lookup), checked between pages."""

    def __init__(self, api: str, seconds: float) -> None:
        self._api = api
        self._seconds = seconds
        self._end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise ProviderTimeout(self._api, f"lookup timeout {self._seconds}s")


# --------------------------------------------------------------------------- decimals


def _decimal(text: object) -> Decimal:
    if not isinstance(text, str):
        raise TypeError(f"expected a decimal string, got {type(text).__name__}")
    value = Decimal(text)  # raises InvalidOperation on junk
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a price: {text!r}")
    return value


def _money(value: Decimal) -> str:
    """A figure for a `detail` line: at least 4 places ('0.0380'), more when they matter."""
    text = plain_decimal(value)
    places = len(text.partition(".")[2])
    return f"{value:.4f}" if places < 4 else text


def _date_part(timestamp: object) -> str:
    if isinstance(timestamp, dt.datetime):
        return timestamp.date().isoformat()
    if not isinstance(timestamp, str):
        raise TypeError("effectiveDate is not a string")
    return timestamp[:10]


# --------------------------------------------------------------------------- Price List parsing


def _product_filters(region: str, instance_type: str) -> list[dict[str, str]]:
    wanted = {"instanceType": instance_type, "regionCode": region, **_PRODUCT_FILTER}
    return [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in wanted.items()]


def _parse_item(item: object) -> dict[str, Any]:
    # PriceList items are JSON documents serialised to strings; accept a decoded one as well.
    decoded = json.loads(item) if isinstance(item, str) else item
    if not isinstance(decoded, dict):
        raise TypeError("PriceList item is not an object")
    return decoded


def _matches(product: Mapping[str, Any], region: str, instance_type: str) -> bool:
    """Re-check the filters client-side. An attribute the item lacks is not held against it
    (older price files have no regionCode, only a location name)."""
    attributes: Mapping[str, Any] = product["product"]["attributes"]
    wanted = {"instanceType": instance_type, "regionCode": region, **_PRODUCT_FILTER}
    return all(attributes.get(field, value) == value for field, value in wanted.items())


def _pick_product(products: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One product should match; if several do, prefer the plain Linux RunInstances one."""
    if not products:
        return None

    def rank(product: dict[str, Any]) -> tuple[bool, bool, bool, str]:
        attributes: Mapping[str, Any] = product["product"]["attributes"]
        return (
            attributes.get("licenseModel") != "No License required",
            attributes.get("operation") != "RunInstances",
            "BoxUsage" not in str(attributes.get("usagetype", "")),
            str(product["product"].get("sku", "")),
        )

    return min(products, key=rank)


class _Term(msgspec.Struct, frozen=True):
    hourly: Decimal  # the Hrs price dimension
    upfront: Decimal  # the Quantity "Upfront Fee" dimension (0 when there is none)
    effective: str
    attributes: Mapping[str, Any]


def _term(raw: Mapping[str, Any]) -> _Term:
    hourly: Decimal | None = None
    upfront = Decimal(0)
    for dimension in raw["priceDimensions"].values():
        price = _decimal(dimension["pricePerUnit"]["USD"])
        unit = dimension["unit"]
        if unit in ("Hrs", "Hours") and str(dimension.get("beginRange", "0")) == "0":
            hourly = price
        elif unit == "Quantity":
            upfront += price
    if hourly is None:
        raise KeyError("no hourly price dimension")
    return _Term(hourly, upfront, _date_part(raw["effectiveDate"]), raw.get("termAttributes") or {})


def _on_demand_quote(product: Mapping[str, Any], region: str, instance_type: str) -> LiveQuote | None:
    terms: Mapping[str, Any] = product["terms"].get("OnDemand") or {}
    if not terms:
        return None
    if len(terms) != 1:
        raise MalformedResponse(API_PRICING, f"{len(terms)} OnDemand terms for one product")
    term = _term(next(iter(terms.values())))
    return LiveQuote(PROVIDER, region, instance_type, ON_DEMAND, plain_decimal(term.hourly), API_PRICING, term.effective)


def _reserved_quote(product: Mapping[str, Any], region: str, instance_type: str, option: str) -> LiveQuote | None:
    """Standard offering, All Upfront amortised over the term (upfront / hours + hourly): the same
    definition as the bundled catalog's reserved prices, so live and bundled compare like for like;
    the No Upfront hourly price is said in the detail. Without an All Upfront offer, No Upfront."""
    length = _RESERVED_TERMS[option]
    hours = Decimal(HOURS_PER_YEAR * _TERM_YEARS[length])
    by_purchase: dict[str, list[_Term]] = {}
    for raw in (product["terms"].get("Reserved") or {}).values():
        term = _term(raw)
        if term.attributes.get("OfferingClass") == "standard" and term.attributes.get("LeaseContractLength") == length:
            by_purchase.setdefault(str(term.attributes.get("PurchaseOption")), []).append(term)
    no_upfront = min(by_purchase.get("No Upfront", []), key=lambda t: t.hourly, default=None)
    all_upfront = min(by_purchase.get("All Upfront", []), key=lambda t: t.hourly + t.upfront / hours, default=None)
    amortised = (all_upfront.hourly + all_upfront.upfront / hours).quantize(_AMORTISED_PLACES) if all_upfront else None
    if all_upfront is not None and amortised is not None:
        detail = f"standard all-upfront ${plain_decimal(all_upfront.upfront)} amortised over {int(hours)} h"
        if no_upfront is not None:
            detail += f"; no-upfront ${_money(no_upfront.hourly)}/h"
        return LiveQuote(PROVIDER, region, instance_type, option, plain_decimal(amortised), API_PRICING, all_upfront.effective, detail)
    if no_upfront is not None:
        detail = "standard no-upfront; no all-upfront offer"
        return LiveQuote(PROVIDER, region, instance_type, option, plain_decimal(no_upfront.hourly), API_PRICING, no_upfront.effective, detail)
    return None


# --------------------------------------------------------------------------- spot parsing


def _median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _spot_quote(rows: list[Mapping[str, Any]], region: str, instance_type: str) -> LiveQuote | None:
    """The median of each zone's latest price (one cheap zone should not set the price)."""
    latest: dict[str, tuple[dt.datetime, Decimal]] = {}
    for row in rows:
        zone = str(row["AvailabilityZone"])
        stamp = row["Timestamp"]
        if not isinstance(stamp, dt.datetime):
            raise TypeError("Timestamp is not a datetime")
        if zone not in latest or stamp > latest[zone][0]:
            latest[zone] = (stamp, _decimal(row["SpotPrice"]))
    if not latest:
        return None
    cheapest_zone, (_, cheapest) = min(latest.items(), key=lambda item: (item[1][1], item[0]))
    newest = max(stamp for stamp, _ in latest.values())
    median = _median([price for _, price in latest.values()])
    detail = f"median of {len(latest)} zones; cheapest {cheapest_zone} ${_money(cheapest)}"
    return LiveQuote(PROVIDER, region, instance_type, SPOT, plain_decimal(median), API_SPOT, _date_part(newest), detail)


# --------------------------------------------------------------------------- clients


class AwsPriceClient:
    """Live EC2 Linux prices: on-demand and standard reserved from the Price List API, spot from
    EC2. Safe to call `fetch` from several threads at once."""

    provider = PROVIDER

    def __init__(self, settings: ClientSettings, session: boto3.session.Session | None = None) -> None:
        self._settings = settings
        with _calling(API_PRICING, settings):
            self._clients = _Clients(settings, session)

    def fetch(self, region: str, instance_type: str, options: frozenset[str]) -> list[LiveQuote]:
        quotes: list[LiveQuote] = []
        if instance_type.lower().startswith("ml."):
            return quotes  # SageMaker ML instances are not EC2 offers: no round trip to learn that
        if options & {ON_DEMAND, RESERVED_1Y, RESERVED_3Y}:
            quotes += self._list_prices(region, instance_type, options)
        if SPOT in options:
            spot = self._spot(region, instance_type)
            if spot is not None:
                quotes.append(spot)
        return quotes

    def _list_prices(self, region: str, instance_type: str, options: frozenset[str]) -> list[LiveQuote]:
        # One GetProducts answer carries the on-demand and every reserved term of the product.
        items = self._get_products(region, instance_type)
        with _calling(API_PRICING, self._settings):
            product = _pick_product([item for item in items if _matches(item, region, instance_type)])
            if product is None:
                return []
            candidates: list[LiveQuote | None] = []
            if ON_DEMAND in options:
                candidates.append(_on_demand_quote(product, region, instance_type))
            for option in (RESERVED_1Y, RESERVED_3Y):
                if option in options:
                    candidates.append(_reserved_quote(product, region, instance_type, option))
            return [quote for quote in candidates if quote is not None]

    def _get_products(self, region: str, instance_type: str) -> list[dict[str, Any]]:
        deadline = _Deadline(API_PRICING, self._settings.timeouts.lookup)
        products: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "ServiceCode": "AmazonEC2",
            "Filters": _product_filters(region, instance_type),
            "FormatVersion": "aws_v1",
        }
        with _calling(API_PRICING, self._settings):
            client = self._clients.get("pricing", GLOBAL_REGION, "aws_pricing")
            while True:
                page = client.get_products(**request)
                products += [_parse_item(item) for item in page["PriceList"]]
                token = page.get("NextToken")
                if not token:
                    return products
                deadline.check()
                request["NextToken"] = token

    def _spot(self, region: str, instance_type: str) -> LiveQuote | None:
        deadline = _Deadline(API_SPOT, self._settings.timeouts.lookup)
        rows: list[Mapping[str, Any]] = []
        # With StartTime = now, EC2 answers each zone's price in effect now (plus nothing older).
        request: dict[str, Any] = {
            "InstanceTypes": [instance_type],
            "ProductDescriptions": ["Linux/UNIX"],
            "StartTime": dt.datetime.now(dt.timezone.utc),
        }
        with _calling(API_SPOT, self._settings):
            client = self._clients.get("ec2", region, "aws_ec2")
            while True:
                page = client.describe_spot_price_history(**request)
                rows += [row for row in page.get("SpotPriceHistory") or [] if row.get("InstanceType", instance_type) == instance_type]
                token = page.get("NextToken")
                if not token:
                    break
                deadline.check()
                request["NextToken"] = token
            return _spot_quote(rows, region, instance_type)


def _month_window(today: str) -> tuple[str, str]:
    """[first of the month, today): Cost Explorer's End is exclusive and must be after Start, so
    on the 1st the window is the 1st alone."""
    day = dt.date.fromisoformat(today)
    start = day.replace(day=1)
    end = day if day > start else start + dt.timedelta(days=1)
    return start.isoformat(), end.isoformat()


def _tag_filter(tags: Mapping[str, str]) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = [
        {"Tags": {"Key": key, "Values": [value], "MatchOptions": ["EQUALS"]}} for key, value in sorted(tags.items())
    ]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"And": clauses}


def _usd(metric: Mapping[str, Any]) -> Decimal:
    if metric["Unit"] != "USD":
        raise MalformedResponse(API_CE, f"UnblendedCost is in {metric['Unit']!r}, not USD")
    # Cost Explorer amounts can be tiny negatives (credits) or long; both are fine as Decimals.
    return Decimal(str(metric["Amount"]))


def _period_cost(result: Mapping[str, Any]) -> Decimal:
    """A period's UnblendedCost: its Total, or (when grouped, Total is {}) the sum of its groups."""
    total: Mapping[str, Any] = result.get("Total") or {}
    if "UnblendedCost" in total:
        return _usd(total["UnblendedCost"])
    return sum((_usd(group["Metrics"]["UnblendedCost"]) for group in result.get("Groups") or []), Decimal(0))


class AwsSpendClient:
    """Month-to-date actual spend from Cost Explorer, filtered by cost-allocation tags."""

    provider = PROVIDER

    def __init__(self, settings: ClientSettings, session: boto3.session.Session | None = None) -> None:
        self._settings = settings
        with _calling(API_CE, settings):
            self._clients = _Clients(settings, session)

    def month_to_date(self, tags: Mapping[str, str], today: str) -> Spend:
        start, end = _month_window(today)
        request: dict[str, Any] = {
            "TimePeriod": {"Start": start, "End": end},
            "Granularity": "MONTHLY",
            "Metrics": ["UnblendedCost"],
        }
        tag_filter = _tag_filter(tags)
        if tag_filter is not None:
            request["Filter"] = tag_filter
        deadline = _Deadline(API_CE, self._settings.timeouts.lookup)
        amount = Decimal(0)
        with _calling(API_CE, self._settings):
            client = self._clients.get("ce", GLOBAL_REGION, "aws_ce")
            while True:
                page = client.get_cost_and_usage(**request)
                amount += sum((_period_cost(result) for result in page["ResultsByTime"]), Decimal(0))
                token = page.get("NextPageToken")
                if not token:
                    break
                deadline.check()
                request["NextPageToken"] = token
        return Spend(PROVIDER, plain_decimal(amount), start, end, API_CE, dict(tags))
