"""What every live provider client shares: the quote it returns, its errors, timeouts, endpoints
and the retry loop. Stdlib only: importing this must not import any provider SDK.

Error tree (httpx-style: catch the base, or a specific case):

    ProviderError                 a provider failed; the check falls back to cache, then bundled
      CredentialsError            no credential, or the provider rejected it
      ProviderTimeout             a call ran past its named timeout
      ProviderUnavailable         throttled or 5xx after every retry, or the connection failed
      MalformedResponse           the payload is not in the provider's documented schema

"No offer for this type/region" is not an error: a client returns an empty list.
`ProviderError(api, problem)`: `.provider` is the API ("aws-pricing"), `.message` the problem.
"""

from __future__ import annotations

import os
import msgspec
import random
import time
from decimal import Decimal
from typing import Callable, Mapping, Protocol, TypeVar

# The base of the tree lives with the engine's other errors (input invalid / config invalid /
# provider failed); the specific cases are defined here, next to the clients that raise them.
from tollgate.engine.errors import ProviderError as ProviderError  # re-exported

T = TypeVar("T")

# The price kinds a cache entry can hold; TTLs are per kind (spot moves hourly, list prices rarely).
ON_DEMAND = "on_demand"
SPOT = "spot"
RESERVED_1Y = "reserved_1y"
RESERVED_3Y = "reserved_3y"
LIVE_OPTIONS = (ON_DEMAND, SPOT, RESERVED_1Y, RESERVED_3Y)

HOURS_PER_YEAR = 8760  # what AWS and Azure use to turn a term price into an hourly one


class CredentialsError(ProviderError):
    """No credential was found in the provider's standard chain, or it was rejected (401/403)."""


class ProviderTimeout(ProviderError):
    """A call ran past its timeout."""


class ProviderUnavailable(ProviderError):
    """Throttling or a server error that outlived every retry, or no connection at all."""


class MalformedResponse(ProviderError):
    """The response does not have the shape the provider documents."""


class LiveQuote(msgspec.Struct, frozen=True):
    """One hourly price, as a provider's API gave it (after converting terms to hourly)."""

    provider: str  # aws | gcp | azure
    region: str  # canonical region id (us-east-1, us-central1, eastus)
    instance_type: str  # canonical spelling as the provider writes it
    option: str  # one of LIVE_OPTIONS
    hourly_usd: str  # exact decimal string, never a float
    api: str  # "aws-pricing" | "aws-ec2-spot" | "gcp-billing" | "azure-retail"
    effective: str = ""  # the provider's own date for the price (effectiveDate, effectiveStartDate...)
    detail: str = ""  # how the number was made, e.g. "median of 4 zones; cheapest us-east-1c $0.0380"


class Timeouts(msgspec.Struct, frozen=True):
    """Named, finite timeouts in seconds for every live call."""

    connect: float = 3.0
    read: float = 10.0
    # Whole-lookup ceiling: paging and retries included; past it the lookup falls back.
    lookup: float = 30.0


class RetryPolicy(msgspec.Struct, frozen=True):
    """Exponential backoff with full jitter for throttling (429/Throttling*) and 5xx."""

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 2.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        return float(rng() * min(self.max_delay, self.base_delay * (2**attempt)))


def with_retries(call: Callable[[], T], policy: RetryPolicy, retryable: Callable[[Exception], bool], sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `call`, retrying retryable failures with backoff and jitter; re-raises the last one."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - the predicate decides
            if attempt == policy.attempts - 1 or not retryable(error):
                raise
            sleep(policy.delay(attempt))
    raise AssertionError("unreachable")


def plain_decimal(value: Decimal) -> str:
    """A price as text: no exponent, no trailing zeros ('0.0960000000' -> '0.096', 12.0 -> '12')."""
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def one_line(text: object, limit: int = 200) -> str:
    """Error text fit for one line of stderr: the first non-empty line, whitespace squashed,
    bounded (an SDK's credential-chain message or a proxy's error page can run a page long)."""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    line = " ".join(lines[0].split()) if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


ENDPOINT_KEYS = ("aws_pricing", "aws_ec2", "aws_ce", "gcp_billing", "azure_retail", "azure_management")

# boto3's own per-service variables (AWS_ENDPOINT_URL_<SERVICE_ID>), used when tollgate.yaml is silent.
_AWS_ENV = {"aws_pricing": "AWS_ENDPOINT_URL_PRICING", "aws_ec2": "AWS_ENDPOINT_URL_EC2", "aws_ce": "AWS_ENDPOINT_URL_COST_EXPLORER"}


class Endpoints(msgspec.Struct, frozen=True):
    """Base URLs that replace the providers' public endpoints (tests, proxies, GovCloud...).

    From `settings.endpoints` in tollgate.yaml; an AWS key that is unset falls back to boto3's
    standard `AWS_ENDPOINT_URL_<SERVICE>` variable (boto3 also honours it by itself)."""

    urls: Mapping[str, str] = msgspec.field(default_factory=dict)

    def get(self, key: str) -> str | None:
        if key not in ENDPOINT_KEYS:
            raise KeyError(key)
        url = self.urls.get(key)
        if url:
            return url.rstrip("/")
        env = _AWS_ENV.get(key)
        value = os.environ.get(env) if env else None
        return value.rstrip("/") if value else None


class ClientSettings(msgspec.Struct, frozen=True):
    endpoints: Endpoints = msgspec.field(default_factory=Endpoints)
    timeouts: Timeouts = msgspec.field(default_factory=Timeouts)
    retry: RetryPolicy = msgspec.field(default_factory=RetryPolicy)


class SpecLookup(Protocol):
    """What a client may need to know about a machine (GCP composes prices from vCPU/RAM/GPUs)."""

    def __call__(self, provider: str, instance_type: str) -> "MachineShape | None": ...


class MachineShape(msgspec.Struct, frozen=True):
    vcpu: float
    memory_gib: float
    gpu_count: float
    gpu_model: str | None


class LivePriceClient(Protocol):
    """One provider's live price API. `fetch` makes the round trips for one (region, type) and
    returns every option it learned (an AWS product carries on-demand and reserved terms, an Azure
    page every meter); `options` says which ones are wanted, so a client may skip calls (AWS spot
    is a separate API). Raises ProviderError; returns [] when the provider has no such offer."""

    provider: str

    def fetch(self, region: str, instance_type: str, options: frozenset[str]) -> list[LiveQuote]: ...


class Spend(msgspec.Struct, frozen=True):
    """Month-to-date actual spend from a billing API."""

    provider: str
    amount_usd: str  # exact decimal string
    period_start: str  # YYYY-MM-DD
    period_end: str  # YYYY-MM-DD (exclusive, as the APIs report it)
    api: str  # "aws-ce" | "azure-costmanagement"
    filter: Mapping[str, str] = msgspec.field(default_factory=dict)


class SpendClient(Protocol):
    provider: str

    def month_to_date(self, tags: Mapping[str, str], today: "str") -> Spend: ...
