"""`tollgate catalog build --from live`: the same catalog format, live cells replaced, the rest kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tollgate.engine.money import Money
from tollgate.engine.prices import PriceQuote
from tollgate.providers.bundled import BundledCatalog
from tollgate.providers.live.base import LiveQuote
from tollgate.providers.live.cache import PriceCache
from tollgate.providers.live.catalog_refresh import refresh_catalog
from tollgate.providers.live.source import LayeredPriceSource


class HalfPriceAws:
    """Answers every EC2 lookup with half the bundled on-demand price, and no spot."""

    provider = "aws"

    def __init__(self, bundled: BundledCatalog) -> None:
        self.bundled = bundled
        self.calls = 0

    def fetch(self, region: str, instance_type: str, options: frozenset[str]) -> list[LiveQuote]:
        self.calls += 1
        current = self.bundled.price("aws", region, instance_type, "on_demand")
        if not isinstance(current, PriceQuote):
            return []
        half = (current.unit_hourly.to_decimal() / 2).normalize()
        return [LiveQuote("aws", region, instance_type, "on_demand", format(half, "f"), "aws-pricing", "2026-11-01")]


class Factory:
    def __init__(self, client: HalfPriceAws) -> None:
        self.client = client

    def price_client(self, provider: str) -> HalfPriceAws:
        return self.client

    def spend_client(self, provider: str) -> object:
        raise AssertionError("not used")


def test_a_live_build_replaces_what_was_fetched_and_keeps_everything_else(tmp_path: Path) -> None:
    bundled = BundledCatalog()
    client = HalfPriceAws(bundled)
    source = LayeredPriceSource("live", bundled, PriceCache(tmp_path / "cache.sqlite"), Factory(client))
    out = tmp_path / "catalog"
    summary = refresh_catalog(source, out, providers=["aws"], regions=["us-east-1"], today=dt.date(2026, 11, 22))
    assert client.calls > 500 and summary.live_cells > 500 and summary.kept_cells > 10_000

    rebuilt = BundledCatalog(root=out)
    before = bundled.price("aws", "us-east-1", "p4d.24xlarge", "on_demand")
    after = rebuilt.price("aws", "us-east-1", "p4d.24xlarge", "on_demand")
    assert isinstance(before, PriceQuote) and isinstance(after, PriceQuote)
    assert after.unit_hourly * 2 == before.unit_hourly
    assert after.upstream == "AWS Price List API (pricing:GetProducts), fetched 2026-11-22" and after.as_of == "2026-11-22"

    # Not refreshed: another region, another option, another provider keep value and source.
    for args in (("aws", "eu-west-1", "g5.12xlarge", "on_demand"), ("aws", "us-east-1", "g5.xlarge", "spot"), ("gcp", "us-central1", "a2-highgpu-1g", "on_demand")):
        old, new = bundled.price(*args), rebuilt.price(*args)
        assert isinstance(old, PriceQuote) and isinstance(new, PriceQuote)
        assert (new.unit_hourly, new.upstream, new.as_of) == (old.unit_hourly, old.upstream, old.as_of), args
    assert rebuilt.spec("aws", "p4d.24xlarge") == bundled.spec("aws", "p4d.24xlarge")
    assert rebuilt.accelerator_price("gcp", "us-central1", "nvidia-tesla-t4", "on_demand") == bundled.accelerator_price(
        "gcp", "us-central1", "nvidia-tesla-t4", "on_demand"
    )
    assert rebuilt.catalog_as_of() == "2026-11-22"
    assert Money.zero() not in {after.unit_hourly}
