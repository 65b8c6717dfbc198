"""The SQLite price cache: freshness per price kind, misses, clearing, several processes at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tollgate.providers.live.base import LiveQuote
from tollgate.providers.live.cache import DAY, HOUR, MISS_TTL, CacheKey, PriceCache, PriceCacheError

NOW = 1_800_000_000.0


def quote(option: str = "on_demand", price: str = "1.006", instance_type: str = "g5.xlarge") -> LiveQuote:
    return LiveQuote("aws", "us-east-1", instance_type, option, price, "aws-pricing", "2026-11-01", "standard no-upfront")


def test_a_price_round_trips_with_its_provenance(tmp_path: Path) -> None:
    cache = PriceCache(tmp_path / "prices.sqlite")
    cache.put([quote()], now=NOW)
    found = cache.get(CacheKey("aws", "us-east-1", "G5.XLARGE", "on_demand"))  # type names are case-insensitive
    assert found is not None
    assert found.quote == quote()
    assert found.fetched_at == NOW
    assert found.fetched_iso == "2027-01-15T08:00Z"


def test_spot_goes_stale_within_hours_while_list_prices_last_days(tmp_path: Path) -> None:
    cache = PriceCache(tmp_path / "prices.sqlite")
    cache.put([quote("on_demand"), quote("spot", "0.39")], now=NOW)
    on_demand = cache.get(CacheKey("aws", "us-east-1", "g5.xlarge", "on_demand"))
    spot = cache.get(CacheKey("aws", "us-east-1", "g5.xlarge", "spot"))
    assert on_demand and spot
    later = NOW + 2 * HOUR
    assert cache.is_fresh(on_demand, later)
    assert not cache.is_fresh(spot, later)
    assert not cache.is_fresh(on_demand, NOW + 8 * DAY)


def test_a_missing_file_is_an_empty_cache_and_is_not_created_by_reading(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "prices.sqlite"
    cache = PriceCache(path)
    assert cache.get(CacheKey("aws", "us-east-1", "g5.xlarge", "on_demand")) is None
    assert cache.rows() == []
    assert not path.exists()


def test_a_known_miss_expires_and_a_later_price_replaces_it(tmp_path: Path) -> None:
    cache = PriceCache(tmp_path / "prices.sqlite")
    key = CacheKey("aws", "us-east-1", "g5.xlarge", "on_demand")
    cache.put([], [(key, "aws-pricing")], now=NOW)
    assert cache.known_miss(key, NOW + 60)
    assert not cache.known_miss(key, NOW + MISS_TTL + 1)
    cache.put([quote()], now=NOW + 120)
    assert not cache.known_miss(key, NOW + 180)


def test_clear_removes_one_provider_or_everything(tmp_path: Path) -> None:
    cache = PriceCache(tmp_path / "prices.sqlite")
    azure = LiveQuote("azure", "eastus", "Standard_NC6s_v3", "on_demand", "3.06", "azure-retail")
    cache.put([quote(), quote("spot", "0.4"), azure], now=NOW)
    assert cache.clear("aws") == 2
    assert [r.quote.provider for r in cache.rows()] == ["azure"]
    assert cache.clear() == 1
    assert cache.counts() == {"prices": 0, "misses": 0}


def test_a_cache_written_by_another_schema_version_is_emptied_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    cache = PriceCache(path)
    cache.put([quote()], now=NOW)
    cache.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='0' WHERE key='schema'")
    assert PriceCache(path).rows() == []


def _writer(path: str, worker: int) -> None:
    cache = PriceCache(Path(path))
    for index in range(100):
        cache.put([quote(instance_type=f"type{worker}.x{index}")], now=NOW)
    cache.close()


def test_several_processes_write_at_once_without_losing_rows(tmp_path: Path) -> None:
    path = str(tmp_path / "prices.sqlite")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, n)) for n in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert PriceCache(Path(path)).counts()["prices"] == 400


def _opener(directory: str, worker: int, rounds: int, barrier: Any) -> None:
    for round_ in range(rounds):
        barrier.wait(timeout=60)  # every process opens the same new file at the same instant
        cache = PriceCache(Path(directory) / f"round{round_}.sqlite")
        cache.put([quote(instance_type=f"type{worker}.x1")], now=NOW)
        cache.close()


def test_processes_creating_the_same_new_cache_at_the_same_instant_all_succeed(tmp_path: Path) -> None:
    # Switching a new file to WAL is refused at once ("database is locked", no busy wait) while
    # another process does the same; before the retry this failed in about one round in seven.
    context = multiprocessing.get_context("spawn")
    workers, rounds = 6, 20
    barrier = context.Barrier(workers)
    processes = [context.Process(target=_opener, args=(str(tmp_path), n, rounds, barrier)) for n in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * workers
    for round_ in range(rounds):
        assert PriceCache(tmp_path / f"round{round_}.sqlite").counts()["prices"] == workers


def test_a_file_that_is_not_a_cache_raises_one_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    path.write_text("hello\n")
    with pytest.raises(PriceCacheError) as raised:
        PriceCache(path).get(CacheKey("aws", "us-east-1", "g5.xlarge", "on_demand"))
    assert str(raised.value) == f"price cache {path}: file is not a database"
    with pytest.raises(PriceCacheError):
        PriceCache(path).put([quote()], now=NOW)
    assert path.read_text() == "hello\n"
