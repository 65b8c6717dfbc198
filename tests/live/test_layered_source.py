"""`--pricing live|cached` orchestration: planned concurrent prefetch, cache, fallbacks, provenance.

The provider clients here are in-process stand-ins, because what is under test is the layering;
the clients themselves are tested through the real SDKs over HTTP in test_<provider>_client.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Mapping

import pytest

from tollgate.engine.check import CheckOptions, run_check
from tollgate.engine.money import Money
from tollgate.engine.prices import PriceLookup, PriceMiss, PriceQuote
from tollgate.providers.bundled import BundledCatalog
from tollgate.providers.live.base import CredentialsError, LiveQuote, ProviderTimeout, Spend
from tollgate.providers.live.cache import DAY, HOUR, PriceCache
from tollgate.providers.live.source import LayeredPriceSource

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "aws-gpu-training" / "plan.json"
NOW = 1_800_000_000.0


class FakeAws:
    provider = "aws"

    def __init__(self, delay: float = 0.0, fail: Exception | None = None, prices: Mapping[str, str] | None = None) -> None:
        self.delay = delay
        self.fail = fail
        self.prices = dict(prices or {})
        self.calls: list[tuple[str, str, frozenset[str]]] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def fetch(self, region: str, instance_type: str, options: frozenset[str]) -> list[LiveQuote]:
        with self._lock:
            self.calls.append((region, instance_type, options))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)
            if self.fail is not None:
                raise self.fail
            price = self.prices.get(instance_type, "1.5")
            if price == "none":
                return []
            quotes = [LiveQuote("aws", region, instance_type, "on_demand", price, "aws-pricing", "2026-11-01")]
            if "spot" in options:
                quotes.append(LiveQuote("aws", region, instance_type, "spot", "0.5", "aws-ec2-spot", "2026-11-22", "median of 3 zones"))
            return quotes
        finally:
            with self._lock:
                self.active -= 1


class FakeSpend:
    provider = "aws"

    def __init__(self, amount: str = "12000", fail: Exception | None = None) -> None:
        self.amount = amount
        self.fail = fail
        self.asked: list[tuple[dict[str, str], str]] = []

    def month_to_date(self, tags: Mapping[str, str], today: str) -> Spend:
        self.asked.append((dict(tags), today))
        if self.fail:
            raise self.fail
        return Spend("aws", self.amount, today[:8] + "01", today, "aws-ce", dict(tags))


class Factory:
    def __init__(self, client: FakeAws, spend: FakeSpend | None = None) -> None:
        self.client = client
        self.spend = spend or FakeSpend()

    def price_client(self, provider: str) -> FakeAws:
        return self.client

    def spend_client(self, provider: str) -> FakeSpend:
        return self.spend


@pytest.fixture(scope="module")
def bundled() -> BundledCatalog:
    return BundledCatalog()


def source(tmp_path: Path, bundled: BundledCatalog, client: FakeAws, mode: str = "live", clock: float = NOW, spend: FakeSpend | None = None) -> LayeredPriceSource:
    return LayeredPriceSource(
        mode=mode, bundled=bundled, cache=PriceCache(tmp_path / "prices.sqlite"), clients=Factory(client, spend), clock=lambda: clock
    )


def lookups(*types: str, option: str = "on_demand") -> set[PriceLookup]:
    return {PriceLookup("aws", "us-east-1", t, option) for t in types}


def test_a_prefetched_price_is_served_live_with_its_api_and_time(tmp_path: Path, bundled: BundledCatalog) -> None:
    layered = source(tmp_path, bundled, FakeAws(prices={"g5.xlarge": "0.999"}))
    layered.prefetch(lookups("g5.xlarge"))
    quote = layered.price("aws", "us-east-1", "g5.xlarge", "on_demand")
    assert isinstance(quote, PriceQuote)
    assert (quote.unit_hourly, quote.source, quote.as_of) == (Money.from_str("0.999"), "live", "2027-01-15T08:00Z")
    assert quote.upstream.startswith("AWS Price List API")
    assert any(s.id == "live:aws-pricing" and s.as_of == "2027-01-15T08:00Z" for s in layered.sources())


def test_lookups_run_concurrently_within_the_bound(tmp_path: Path, bundled: BundledCatalog) -> None:
    client = FakeAws(delay=0.05)
    layered = source(tmp_path, bundled, client)
    layered.max_workers = 8
    layered.prefetch(lookups(*(f"m5.{n}xlarge" for n in range(40))))
    assert len(client.calls) == 40
    assert 1 < client.max_active <= 8


def test_one_call_per_type_and_region_serves_every_option_it_returned(tmp_path: Path, bundled: BundledCatalog) -> None:
    client = FakeAws()
    layered = source(tmp_path, bundled, client)
    layered.prefetch(lookups("g5.xlarge") | lookups("g5.xlarge", option="spot"))
    assert client.calls == [("us-east-1", "g5.xlarge", frozenset({"on_demand", "spot"}))]
    spot = layered.price("aws", "us-east-1", "g5.xlarge", "spot")
    assert isinstance(spot, PriceQuote) and spot.detail == "median of 3 zones"


def test_a_warm_cache_makes_no_calls_and_says_cache(tmp_path: Path, bundled: BundledCatalog) -> None:
    first = FakeAws(prices={"g5.xlarge": "0.999"})
    source(tmp_path, bundled, first).prefetch(lookups("g5.xlarge"))
    second = FakeAws()
    layered = source(tmp_path, bundled, second, clock=NOW + HOUR)
    layered.prefetch(lookups("g5.xlarge"))
    assert second.calls == []
    quote = layered.price("aws", "us-east-1", "g5.xlarge", "on_demand")
    assert isinstance(quote, PriceQuote) and (quote.source, quote.unit_hourly) == ("cache", Money.from_str("0.999"))


def test_a_stale_entry_is_fetched_again(tmp_path: Path, bundled: BundledCatalog) -> None:
    source(tmp_path, bundled, FakeAws()).prefetch(lookups("g5.xlarge"))
    again = FakeAws(prices={"g5.xlarge": "0.9"})
    layered = source(tmp_path, bundled, again, clock=NOW + 8 * DAY)
    layered.prefetch(lookups("g5.xlarge"))
    assert len(again.calls) == 1
    quote = layered.price("aws", "us-east-1", "g5.xlarge", "on_demand")
    assert isinstance(quote, PriceQuote) and quote.source == "live" and quote.unit_hourly == Money.from_str("0.9")


def test_a_failed_live_call_falls_back_to_the_stale_cache_and_says_why(tmp_path: Path, bundled: BundledCatalog) -> None:
    source(tmp_path, bundled, FakeAws(prices={"g5.xlarge": "0.95"})).prefetch(lookups("g5.xlarge"))
    failing = FakeAws(fail=ProviderTimeout("aws-pricing", "read timeout 10.0s"))
    layered = source(tmp_path, bundled, failing, clock=NOW + 8 * DAY)
    layered.prefetch(lookups("g5.xlarge"))
    quote = layered.price("aws", "us-east-1", "g5.xlarge", "on_demand")
    assert isinstance(quote, PriceQuote)
    assert (quote.source, quote.unit_hourly) == ("cache", Money.from_str("0.95"))
    assert "read timeout 10.0s" in quote.fallback and "8 days old" in quote.fallback
    assert layered.problems() == ["aws-pricing: read timeout 10.0s; 1 lookup fell back to the cache or the bundled catalog"]


def test_a_cache_file_that_is_not_a_database_is_set_aside_and_the_price_still_fetched(tmp_path: Path, bundled: BundledCatalog) -> None:
    (tmp_path / "prices.sqlite").write_text("not sqlite\n")
    client = FakeAws(prices={"g5.xlarge": "0.999"})
    layered = source(tmp_path, bundled, client)
    layered.prefetch(lookups("g5.xlarge"))
    quote = layered.price("aws", "us-east-1", "g5.xlarge", "on_demand")
    assert isinstance(quote, PriceQuote) and (quote.source, quote.unit_hourly) == ("live", Money.from_str("0.999"))
    assert len(client.calls) == 1
    assert layered.problems() == [
        f"price cache {tmp_path / 'prices.sqlite'}: file is not a database; not used in this run (delete the file to start a new cache)"
    ]
    assert (tmp_path / "prices.sqlite").read_text() == "not sqlite\n"  # a user's file is never overwritten


def test_without_a_cache_a_failure_falls_back_to_the_bundled_catalog(tmp_path: Path, bundled: BundledCatalog) -> None:
    layered = source(tmp_path, bundled, FakeAws(fail=ProviderTimeout("aws-pricing", "read timeout 10.0s")))
    layered.prefetch(lookups("g5.xlarge"))
    quote = layered.price("aws", "us-east-1", "g5.xlarge", "on_demand")
    expected = bundled.price("aws", "us-east-1", "g5.xlarge", "on_demand")
    assert isinstance(quote, PriceQuote) and isinstance(expected, PriceQuote)
    assert (quote.source, quote.unit_hourly) == ("bundled", expected.unit_hourly)
    assert quote.fallback.startswith("aws-pricing: read timeout 10.0s")


def test_missing_credentials_stop_further_calls_and_are_one_line(tmp_path: Path, bundled: BundledCatalog) -> None:
    client = FakeAws(fail=CredentialsError("aws-pricing", "no AWS credentials found (environment, profile, instance role)"))
    layered = source(tmp_path, bundled, client)
    layered.max_workers = 1  # serial, so the first failure is seen before the rest are asked
    layered.prefetch(lookups(*(f"m5.{n}xlarge" for n in range(10))))
    assert len(client.calls) == 1
    problems = layered.problems()
    assert len(problems) == 1 and "credentials" in problems[0] and "10 lookups" in problems[0]


def test_no_live_offer_uses_the_bundled_price_and_says_so(tmp_path: Path, bundled: BundledCatalog) -> None:
    layered = source(tmp_path, bundled, FakeAws(prices={"g5.xlarge": "none"}))
    layered.prefetch(lookups("g5.xlarge"))
    quote = layered.price("aws", "us-east-1", "g5.xlarge", "on_demand")
    assert isinstance(quote, PriceQuote) and quote.source == "bundled" and "has no offer" in quote.fallback


def test_an_unknown_type_stays_unknown_never_zero(tmp_path: Path, bundled: BundledCatalog) -> None:
    layered = source(tmp_path, bundled, FakeAws(prices={"zz9.huge": "none"}))
    layered.prefetch(lookups("zz9.huge"))
    result = layered.price("aws", "us-east-1", "zz9.huge", "on_demand")
    assert isinstance(result, PriceMiss) and result.code == "unknown_type" and "has no offer" in result.reason


def test_lookups_that_were_not_planned_never_make_a_round_trip(tmp_path: Path, bundled: BundledCatalog) -> None:
    client = FakeAws()
    layered = source(tmp_path, bundled, client)
    quote = layered.price("aws", "us-east-1", "m5.large", "on_demand")  # e.g. a suggestion search
    assert client.calls == [] and isinstance(quote, PriceQuote) and quote.source == "bundled"


def test_cached_mode_never_calls_a_provider(tmp_path: Path, bundled: BundledCatalog) -> None:
    source(tmp_path, bundled, FakeAws(prices={"g5.xlarge": "0.95"})).prefetch(lookups("g5.xlarge"))
    client = FakeAws()
    layered = source(tmp_path, bundled, client, mode="cached", clock=NOW + 30 * DAY)
    layered.prefetch(lookups("g5.xlarge", "m5.large"))
    assert client.calls == []
    old = layered.price("aws", "us-east-1", "g5.xlarge", "on_demand")
    assert isinstance(old, PriceQuote) and old.source == "cache" and old.as_of == "2027-01-15T08:00Z"
    fresh = layered.price("aws", "us-east-1", "m5.large", "on_demand")
    assert isinstance(fresh, PriceQuote) and fresh.source == "bundled"


def test_a_check_plans_its_lookups_and_reports_live_provenance(tmp_path: Path, bundled: BundledCatalog) -> None:
    client = FakeAws(prices={"p4d.24xlarge": "20.00"})
    layered = source(tmp_path, bundled, client)
    report = run_check([str(EXAMPLE)], layered, CheckOptions(suggest_level="none"))
    asked = {(region, t) for region, t, _ in client.calls}
    assert ("us-east-1", "p4d.24xlarge") in asked and ("eu-west-1", "g5.12xlarge") in asked
    node_group = next(r for r in report.resources if r.request.address == "aws_eks_node_group.a100_training")
    part = node_group.after.parts[0]
    assert (part.unit.source, part.unit.unit_hourly) == ("live", Money.from_str("20.00"))
    assert report.pricing_mode == "live"
    assert any(s.id == "live:aws-pricing" for s in report.sources)


def _budget_config(tmp_path: Path, limit: int) -> object:
    from tollgate.engine.config_loader import load_active_config

    path = tmp_path / "tollgate.yaml"
    path.write_text(
        "version: 1\npolicies:\n  - id: ml-budget\n    type: budget\n"
        f"    monthly_limit_usd: {limit}\n"
        "    actual_spend: {provider: aws, filter: {tags: {team: ml}}}\n"
    )
    return load_active_config(str(path))


def test_actual_spend_plus_the_change_for_the_rest_of_the_month_is_held_against_the_cap(tmp_path: Path, bundled: BundledCatalog) -> None:
    spend = FakeSpend(amount="30000")
    layered = source(tmp_path, bundled, FakeAws(prices={"p4d.24xlarge": "20.00"}), spend=spend)
    config = _budget_config(tmp_path, 40000)
    report = run_check([str(EXAMPLE)], layered, CheckOptions(config=config, today=dt.date(2026, 11, 22), suggest_level="none"))  # type: ignore[arg-type]
    assert spend.asked == [({"team": "ml"}, "2026-11-22")]
    [status] = report.budgets
    assert status.month_to_date == Money.from_str("30000") and (status.days_left, status.days_in_month) == (9, 30)
    # Nothing in the example is tagged team=ml... the scope has no tags filter, so all of it counts:
    delta = sum((i.after.hourly or Money.zero() for i in report.resources), Money.zero()) * 730
    assert status.change_rest_of_month == delta * Fraction(9, 30)
    over = [f for f in report.findings if f.policy_id == "ml-budget" and "month-to-date" in f.message]
    assert over and over[0].severity == "error" and "$30,000" in over[0].message


def test_without_live_pricing_actual_spend_is_reported_unavailable_not_guessed(tmp_path: Path, bundled: BundledCatalog) -> None:
    config = _budget_config(tmp_path, 10**9)
    report = run_check([str(EXAMPLE)], bundled, CheckOptions(config=config, suggest_level="none"))  # type: ignore[arg-type]
    [status] = report.budgets
    assert status.month_to_date is None and "--pricing live" in (status.problem or "")
    info = [f for f in report.findings if f.policy_id == "ml-budget"]
    assert [f.severity for f in info] == ["info"] and "unavailable" in info[0].message


def test_a_provider_that_keeps_failing_is_taken_as_down_for_the_rest_of_the_run(tmp_path: Path, bundled: BundledCatalog) -> None:
    from tollgate.providers.live.base import ProviderUnavailable
    from tollgate.providers.live.source import OUTAGE_AFTER_FAILURES

    client = FakeAws(fail=ProviderUnavailable("aws-pricing", "cannot reach https://api.pricing.us-east-1.amazonaws.com"))
    layered = source(tmp_path, bundled, client)
    layered.max_workers = 1
    layered.prefetch(lookups(*(f"m5.{n}xlarge" for n in range(20))))
    assert len(client.calls) == OUTAGE_AFTER_FAILURES
    [problem] = layered.problems()
    assert "cannot reach" in problem and "20 lookups fell back" in problem
    quote = layered.price("aws", "us-east-1", "m5.2xlarge", "on_demand")
    assert isinstance(quote, PriceQuote) and quote.source == "bundled" and "cannot reach" in quote.fallback


def test_one_failure_among_successes_does_not_stop_the_others(tmp_path: Path, bundled: BundledCatalog) -> None:
    from tollgate.providers.live.base import ProviderUnavailable

    class Flaky(FakeAws):
        def fetch(self, region: str, instance_type: str, options: frozenset[str]) -> list[LiveQuote]:
            if instance_type in ("m5.2xlarge", "m5.4xlarge"):
                self.calls.append((region, instance_type, options))
                raise ProviderUnavailable("aws-pricing", "HTTP 503 after 4 attempts")
            return super().fetch(region, instance_type, options)

    client = Flaky()
    layered = source(tmp_path, bundled, client)
    layered.max_workers = 1
    layered.prefetch(lookups(*(f"m5.{n}xlarge" for n in (2, 4, 8, 12, 16, 24))))
    assert len(client.calls) == 6
    assert layered.fetched() == 4
