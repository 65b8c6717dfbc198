"""Plan the price lookups of a check before making them.

A live source pays a round trip per question; asked one question at a time, a plan with 200
instance types would make 200 serial calls. So the engine first prices the requests against the
source's offline view while recording every question, hands the whole set to the source to fetch
concurrently, then prices for real. The planning pass is pure computation over the bundled catalog.
"""

from __future__ import annotations

from typing import Any

from tollgate.engine.model import ComputeRequest
from tollgate.engine.prices import InstanceSpec, PriceLookup, PriceResult, PriceSource, SourceInfo


class RecordingSource:
    """A PriceSource that answers from `inner` and remembers every price question."""

    def __init__(self, inner: PriceSource) -> None:
        self.inner = inner
        self.mode = inner.mode
        self.lookups: set[PriceLookup] = set()

    def spec(self, provider: str, instance_type: str) -> InstanceSpec | None:
        return self.inner.spec(provider, instance_type)

    def price(self, provider: str, region: str, instance_type: str, option: str, os: str = "linux") -> PriceResult:
        if os.strip().lower() == "linux":  # live clients price Linux only, like the catalog
            self.lookups.add(PriceLookup(provider, region, instance_type, option))
        return self.inner.price(provider, region, instance_type, option, os)

    def accelerator_price(self, provider: str, region: str, accelerator_type: str, option: str) -> PriceResult:
        self.lookups.add(PriceLookup(provider, region, accelerator_type, option, accelerator=True))
        return self.inner.accelerator_price(provider, region, accelerator_type, option)

    def normalize_region(self, provider: str, region: str) -> str | None:
        return self.inner.normalize_region(provider, region)

    def sources(self) -> list[SourceInfo]:
        return self.inner.sources()

    def __getattr__(self, name: str) -> Any:
        # Catalog extras (types_for, regions_for...) pass straight through.
        return getattr(self.inner, name)


def plan_lookups(
    requests: list[ComputeRequest], offline: PriceSource, default_regions: dict[str, str], hours_per_month: int
) -> set[PriceLookup]:
    """Every price question pricing `requests` asks (suggestion searches are not included: they
    scan the catalog and are answered from the cache or the bundled catalog)."""
    from tollgate.engine.pricing import price_requests

    recorder = RecordingSource(offline)
    price_requests(requests, recorder, default_regions, hours_per_month)
    return recorder.lookups
