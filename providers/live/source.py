"""`--pricing live` and `--pricing cached`: the price source that layers live APIs, the SQLite
cache and the bundled catalog, and says for every price which one served it.

    live:    fresh cache -> live API (fetched up front, concurrently) -> stale cache -> bundled
    cached:  cache (any age, no network) -> bundled

Live round trips happen only in `prefetch`, for the lookups the engine planned; anything asked
later (suggestion searches over the whole catalog) is answered from the cache or the bundled
catalog, never with a serial round trip.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Collection, Mapping, Protocol

import msgspec

from tollgate.engine.money import Money
from tollgate.engine.prices import InstanceSpec, PriceLookup, PriceMiss, PriceQuote, PriceResult, PriceSource, SourceInfo, SpendQuote
from tollgate.providers.live.base import (
    CredentialsError,
    LivePriceClient,
    LiveQuote,
    MachineShape,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    SpendClient,
)
from tollgate.providers.live.cache import CachedPrice, CacheKey, PriceCache, PriceCacheError, iso_minutes

# Each (region, type) lookup is I/O-bound; a bounded pool keeps well under the APIs' rate limits.
MAX_CONCURRENT_LOOKUPS = 16
# After this many lookups in a row fail with a timeout or an outage, the provider is taken as down
# for the rest of the run: 200 lookups must not each wait out their retries against a dead endpoint.
OUTAGE_AFTER_FAILURES = 3

# Display names and terms for provenance (`pricing.sources` in the report).
API_NAMES: Mapping[str, tuple[str, str]] = {
    "aws-pricing": ("AWS Price List API (pricing:GetProducts)", "AWS Customer Agreement"),
    "aws-ec2-spot": ("Amazon EC2 spot price history (ec2:DescribeSpotPriceHistory)", "AWS Customer Agreement"),
    "aws-ce": ("AWS Cost Explorer (ce:GetCostAndUsage)", "AWS Customer Agreement"),
    "gcp-billing": ("Google Cloud Billing Catalog API (cloudbilling.services.skus.list)", "Google Cloud Terms"),
    "azure-retail": ("Azure Retail Prices API (prices.azure.com)", "Microsoft APIs Terms of Use"),
    "azure-costmanagement": ("Azure Cost Management Query API", "Microsoft APIs Terms of Use"),
}
PRICE_API_OF = {"aws": "aws-pricing", "gcp": "gcp-billing", "azure": "azure-retail"}


class Progress(Protocol):
    def advance(self) -> None: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[int], Progress]


class ClientFactory(Protocol):
    """Builds one provider's client (importing its SDK). Raises ProviderError when it cannot."""

    def price_client(self, provider: str) -> LivePriceClient: ...

    def spend_client(self, provider: str) -> SpendClient: ...


class _NoOffer(msgspec.Struct, frozen=True):
    api: str


class _Failed(msgspec.Struct, frozen=True):
    error: ProviderError


_Outcome = LiveQuote | _NoOffer | _Failed


class _Problem(msgspec.Struct):
    message: str
    lookups: int = 0


class LayeredPriceSource(msgspec.Struct):
    mode: str  # "live" | "cached"
    bundled: PriceSource
    cache: PriceCache | None
    clients: ClientFactory | None = None
    progress: ProgressFactory | None = None
    max_workers: int = MAX_CONCURRENT_LOOKUPS
    clock: Callable[[], float] = time.time
    _outcomes: dict[CacheKey, _Outcome] = msgspec.field(default_factory=dict)
    _fetched_at: float = 0.0
    _served: dict[str, float] = msgspec.field(default_factory=dict)  # "live:aws-pricing" -> oldest as-of served
    _problems: dict[str, _Problem] = msgspec.field(default_factory=dict)
    _outages: dict[str, tuple[int, ProviderError]] = msgspec.field(default_factory=dict)  # provider -> (failures in a row, last)
    _lock: threading.Lock = msgspec.field(default_factory=threading.Lock)

    # --- PriceSource --------------------------------------------------------------------------

    def spec(self, provider: str, instance_type: str) -> InstanceSpec | None:
        return self.bundled.spec(provider, instance_type)

    def normalize_region(self, provider: str, region: str) -> str | None:
        return self.bundled.normalize_region(provider, region)

    def price(self, provider: str, region: str, instance_type: str, option: str, os: str = "linux") -> PriceResult:
        if os.strip().lower() != "linux":
            return self.bundled.price(provider, region, instance_type, option, os)
        key = self._key(provider, region, instance_type, option)
        return self._resolve(key, lambda: self.bundled.price(provider, region, instance_type, option, os))

    def accelerator_price(self, provider: str, region: str, accelerator_type: str, option: str) -> PriceResult:
        key = self._key(provider, region, "accelerator:" + accelerator_type, option)
        return self._resolve(key, lambda: self.bundled.accelerator_price(provider, region, accelerator_type, option))

    def sources(self) -> list[SourceInfo]:
        found = list(self.bundled.sources())
        for served, oldest in sorted(self._served.items()):
            how, api = served.split(":", 1)
            name, licence = API_NAMES.get(api, (api, ""))
            found.append(SourceInfo(id=served, name=_served_name(how, name), as_of=iso_minutes(oldest), licence=licence))
        return found

    def catalog_as_of(self) -> str | None:
        as_of = getattr(self.bundled, "catalog_as_of", None)
        return as_of() if callable(as_of) else None

    def __getattr__(self, name: str) -> object:
        # Catalog extras the suggestion engine uses (types_for, regions_for...) come from the
        # bundled catalog: it is the list of what exists; prices still go through `price`.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.bundled, name)

    # --- PrefetchingSource --------------------------------------------------------------------

    def offline(self) -> PriceSource:
        return self.bundled

    def live_quotes(self) -> list[LiveQuote]:
        """Every price fetched live in this run (for `tollgate catalog build --from live`)."""
        return [outcome for outcome in self._outcomes.values() if isinstance(outcome, LiveQuote)]

    def fetched(self) -> int:
        """How many prices this run fetched live."""
        return sum(1 for outcome in self._outcomes.values() if isinstance(outcome, LiveQuote))

    def problems(self) -> list[str]:
        lines = []
        for api, problem in sorted(self._problems.items()):
            if api.startswith("price cache "):
                lines.append(f"{api}: {problem.message}")
                continue
            what = f"{problem.lookups} lookup{'s' if problem.lookups != 1 else ''}"
            lines.append(f"{api}: {problem.message}; {what} fell back to the cache or the bundled catalog")
        return lines

    def prefetch(self, lookups: Collection[PriceLookup], force: bool = False) -> None:
        """Fetch every planned lookup that the cache cannot answer fresh (all of them with
        `force`, for `tollgate prices refresh`), concurrently."""
        if self.mode != "live" or self.clients is None:
            return
        now = self.clock()
        wanted: dict[tuple[str, str, str, bool], set[str]] = {}
        for lookup in lookups:
            name = ("accelerator:" if lookup.accelerator else "") + lookup.name
            key = self._key(lookup.provider, lookup.region, name, lookup.option)
            if key in self._outcomes or (not force and self._cache_answers(key, now)):
                continue
            spelling = self._spelling(key.provider, lookup.name, lookup.accelerator)
            wanted.setdefault((key.provider, key.region, spelling, lookup.accelerator), set()).add(lookup.option)
        if not wanted:
            return
        self._fetched_at = now
        tasks = sorted(wanted.items())
        bar = self.progress(len(tasks)) if self.progress else None
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(self.max_workers, len(tasks)))) as pool:
                futures = [pool.submit(self._fetch_one, *where, options) for where, options in tasks]
                results = []
                for future in futures:
                    results.append(future.result())
                    if bar is not None:
                        bar.advance()
        finally:
            if bar is not None:
                bar.close()
        self._record(tasks, results, now)

    # --- SpendSource --------------------------------------------------------------------------

    def month_to_date_spend(self, provider: str, tags: Mapping[str, str], today: str) -> SpendQuote | PriceMiss:
        if self.mode != "live" or self.clients is None:
            return PriceMiss("no_live_source", "month-to-date spend needs --pricing live")
        try:
            spend = self.clients.spend_client(provider).month_to_date(tags, today)
        except ProviderError as error:
            return PriceMiss("provider_failed", str(error))
        fetched = self.clock()
        self._served[f"live:{spend.api}"] = min(fetched, self._served.get(f"live:{spend.api}", fetched))
        return SpendQuote(Money.from_str(spend.amount_usd), spend.period_start, spend.period_end, f"live:{spend.api}", iso_minutes(fetched))

    # --- internals ----------------------------------------------------------------------------

    def _key(self, provider: str, region: str, name: str, option: str) -> CacheKey:
        # Names compare case-insensitively (plans write "standard_nc24ads_a100_v4" for Azure sizes).
        provider = provider.strip().lower()
        canonical = self.bundled.normalize_region(provider, region) or region.strip().lower()
        return CacheKey(provider, canonical, name.strip().lower(), option)

    def _spelling(self, provider: str, name: str, accelerator: bool) -> str:
        """The provider's own spelling of a type, for the API call (Azure's filter is case-sensitive)."""
        spec = None if accelerator else self.bundled.spec(provider, name)
        return spec.instance_type if spec is not None else name.strip()

    def _cache_answers(self, key: CacheKey, now: float) -> bool:
        cached = self._cached(key)
        if cached is not None and self.cache is not None and self.cache.is_fresh(cached, now):
            return True
        try:
            return self.cache is not None and self.cache.known_miss(key, now)
        except PriceCacheError as error:
            self._drop_cache(error)
            return False

    def _cached(self, key: CacheKey) -> CachedPrice | None:
        if self.cache is None:
            return None
        try:
            return self.cache.get(key)
        except PriceCacheError as error:
            self._drop_cache(error)
            return None

    def _drop_cache(self, error: PriceCacheError) -> None:
        """A cache that cannot be read or written is left alone for the rest of the run: prices
        come from the live API or the bundled catalog, and the report says why."""
        with self._lock:
            self._problems.setdefault(error.source, _Problem(f"{error.problem}; not used in this run (delete the file to start a new cache)"))
            self.cache = None

    def _fetch_one(self, provider: str, region: str, name: str, accelerator: bool, options: set[str]) -> list[LiveQuote] | ProviderError:
        api = PRICE_API_OF.get(provider, provider)
        with self._lock:
            blocked = self._problems.get(api)
        if blocked is not None and blocked.message.startswith("credentials"):
            return ProviderError(api, blocked.message)  # no point asking again without credentials
        with self._lock:
            failures, last = self._outages.get(provider, (0, None))
        if last is not None and failures >= OUTAGE_AFTER_FAILURES:
            return last
        try:
            assert self.clients is not None
            client = self.clients.price_client(provider)
            if accelerator:
                fetch_accelerator = getattr(client, "accelerator_fetch", None)
                if fetch_accelerator is None:
                    return []
                quotes: list[LiveQuote] = fetch_accelerator(region, name, frozenset(options))
                return quotes
            found = client.fetch(region, name, frozenset(options))
            with self._lock:
                self._outages.pop(provider, None)
            return found
        except ProviderError as error:
            with self._lock:
                if isinstance(error, CredentialsError):
                    self._problems.setdefault(error.provider, _Problem("credentials: " + error.message))
                elif isinstance(error, (ProviderTimeout, ProviderUnavailable)):
                    self._outages[provider] = (self._outages.get(provider, (0, error))[0] + 1, error)
            return error

    def _record(self, tasks: list[tuple[tuple[str, str, str, bool], set[str]]], results: list[list[LiveQuote] | ProviderError], now: float) -> None:
        quotes_to_cache: list[LiveQuote] = []
        misses: list[tuple[CacheKey, str]] = []
        for ((provider, region, name, accelerator), options), result in zip(tasks, results):
            stored_name = ("accelerator:" if accelerator else "") + name
            api = PRICE_API_OF.get(provider, provider)
            if isinstance(result, ProviderError):
                problem = self._problems.setdefault(result.provider, _Problem(result.message))
                problem.lookups += len(options)
                for option in options:
                    self._outcomes[CacheKey(provider, region, stored_name.lower(), option)] = _Failed(result)
                continue
            by_option: dict[str, LiveQuote] = {}
            for quote in result:
                quote = LiveQuote(provider, region, stored_name, quote.option, quote.hourly_usd, quote.api, quote.effective, quote.detail)
                by_option.setdefault(quote.option, quote)
                quotes_to_cache.append(quote)
            for option in options:
                key = CacheKey(provider, region, stored_name.lower(), option)
                found = by_option.get(option)
                self._outcomes[key] = found if found is not None else _NoOffer(api)
                if found is None:
                    misses.append((key, api))
            for option, quote in by_option.items():  # extra options the same call returned
                self._outcomes.setdefault(CacheKey(provider, region, stored_name.lower(), option), quote)
        if self.cache is not None:
            try:
                self.cache.put(quotes_to_cache, misses, now)
            except PriceCacheError as error:
                self._drop_cache(error)

    def _resolve(self, key: CacheKey, bundled: Callable[[], PriceResult]) -> PriceResult:
        outcome = self._outcomes.get(key)
        if isinstance(outcome, LiveQuote):
            return self._quote(outcome, "live", self._fetched_at)
        cached = self._cached(key)
        now = self.clock()
        if self.mode == "cached":
            if cached is not None:
                return self._quote(cached.quote, "cache", cached.fetched_at)
            return bundled()
        if isinstance(outcome, _Failed):
            reason = str(outcome.error)
            if cached is not None:
                return self._quote(cached.quote, "cache", cached.fetched_at, fallback=f"{reason}; served from the cache ({_age(cached, now)} old)")
            return _with_fallback(bundled(), f"{reason}; served from the bundled catalog")
        if isinstance(outcome, _NoOffer):
            return _with_fallback(bundled(), f"{outcome.api} has no offer for this type in this region; served from the bundled catalog")
        if cached is not None and self.cache is not None and self.cache.is_fresh(cached, now):
            return self._quote(cached.quote, "cache", cached.fetched_at)
        return bundled()

    def _quote(self, quote: LiveQuote, how: str, fetched_at: float, fallback: str = "") -> PriceQuote:
        served = f"{how}:{quote.api}"
        with self._lock:
            self._served[served] = min(fetched_at, self._served.get(served, fetched_at))
        name, _ = API_NAMES.get(quote.api, (quote.api, ""))
        return PriceQuote(
            unit_hourly=Money.from_str(quote.hourly_usd),
            source=how,
            as_of=iso_minutes(fetched_at),
            upstream=_served_name(how, name),
            detail=quote.detail,
            fallback=fallback,
        )


def _served_name(how: str, api_name: str) -> str:
    return f"{api_name}, {'fetched live' if how == 'live' else 'from the local cache'}"


def _with_fallback(result: PriceResult, fallback: str) -> PriceResult:
    if isinstance(result, PriceMiss):
        return PriceMiss(result.code, f"{result.reason} (and {fallback.split(';')[0]})")
    return PriceQuote(result.unit_hourly, result.source, result.as_of, result.upstream, result.detail, fallback)


def _age(cached: CachedPrice, now: float) -> str:
    seconds = cached.age(now)
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def machine_shape_lookup(bundled: PriceSource) -> Callable[[str, str], MachineShape | None]:
    """What the GCP client needs to compose a machine price: its vCPUs, memory and GPUs."""

    def lookup(provider: str, instance_type: str) -> MachineShape | None:
        spec = bundled.spec(provider, instance_type)
        if spec is None or spec.memory_gib is None:
            return None
        return MachineShape(spec.vcpu, spec.memory_gib, spec.gpu_count, spec.gpu_model)

    return lookup


def today_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).date().isoformat()
