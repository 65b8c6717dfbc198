"""What the engine needs from a price source, and what it gets back.

The engine depends on this protocol only; `tollgate.providers` implements it (bundled catalog,
live APIs, cache). Keeping the interface here lets the engine stay free of I/O and SDKs.
"""

from __future__ import annotations

from typing import Collection, Mapping, Protocol, Union

import msgspec

from tollgate.engine.money import Money

# Purchase options a price source understands. GCP committed-use discounts are "reserved_*" too:
# both are a 1- or 3-year commitment in exchange for a lower hourly rate.
PRICE_OPTIONS = ("on_demand", "spot", "reserved_1y", "reserved_3y")


class InstanceSpec(msgspec.Struct, frozen=True):
    provider: str
    instance_type: str  # canonical spelling, e.g. "Standard_NC24ads_A100_v4"
    vcpu: float
    memory_gib: float | None
    gpu_count: float  # accelerators per instance; fractional for partial GPUs (Azure NVadsA10)
    gpu_model: str | None  # "A100-40GB", "Inferentia2", ...; None when there is no GPU or no name
    gpu_memory_gib: float | None
    family: str
    arch: str
    current_generation: bool | None  # None: the catalog does not know


class SourceInfo(msgspec.Struct, frozen=True):
    """One upstream a price came from, with its as-of date and licence, for provenance."""

    id: str
    name: str  # e.g. "aws/karpenter-provider-aws@6fc13b5236fd:pkg/providers/pricing/zz_generated.pricing_aws.go"
    as_of: str  # YYYY-MM-DD
    licence: str = ""


class PriceQuote(msgspec.Struct, frozen=True):
    unit_hourly: Money
    source: str  # "bundled" | "live:aws-pricing" | "cache" ...
    as_of: str  # YYYY-MM-DD
    upstream: str = ""  # SourceInfo.name of the row, for provenance
    detail: str = ""  # how a live price was made ("median of 4 zones; cheapest us-east-1c $0.0381")
    fallback: str = ""  # why the preferred source did not serve it ("aws-pricing: read timeout 10.0s")


class PriceMiss(msgspec.Struct, frozen=True):
    """Why there is no price. Never turned into $0."""

    code: str  # "unknown_type" | "not_in_region" | "option_not_offered" | "os_not_covered" | "unknown_region"
    reason: str


PriceResult = Union[PriceQuote, PriceMiss]


class PriceLookup(msgspec.Struct, frozen=True):
    """One price the engine will ask for: lets a live source fetch them all at once, concurrently,
    instead of one round trip per question."""

    provider: str
    region: str
    name: str  # instance type, or accelerator type when `accelerator`
    option: str
    accelerator: bool = False


class SpendQuote(msgspec.Struct, frozen=True):
    """Month-to-date actual spend from a provider's billing API."""

    amount: Money
    period_start: str  # YYYY-MM-DD
    period_end: str  # YYYY-MM-DD, exclusive
    source: str  # "live:aws-ce" ...
    as_of: str  # when it was fetched (UTC, minutes)


class PriceSource(Protocol):
    """Where prices and specs come from. Methods are cheap after the first call per shard."""

    mode: str  # "bundled" | "live" | "cached"

    def spec(self, provider: str, instance_type: str) -> InstanceSpec | None: ...

    def price(
        self, provider: str, region: str, instance_type: str, option: str, os: str = "linux"
    ) -> PriceResult: ...

    def accelerator_price(
        self, provider: str, region: str, accelerator_type: str, option: str
    ) -> PriceResult: ...

    def normalize_region(self, provider: str, region: str) -> str | None: ...

    def sources(self) -> list[SourceInfo]: ...


class PrefetchingSource(PriceSource, Protocol):
    """A source with round trips (live APIs): told up front what will be asked, it fetches the
    lot concurrently; `offline()` answers the planning pass without any network."""

    def offline(self) -> PriceSource: ...

    def prefetch(self, lookups: Collection[PriceLookup]) -> None: ...

    def problems(self) -> list[str]: ...


class SpendSource(Protocol):
    """Where month-to-date spend comes from (budgets with `actual_spend`)."""

    def month_to_date_spend(self, provider: str, tags: Mapping[str, str], today: str) -> SpendQuote | PriceMiss: ...
