"""Assemble the price source a door asked for: bundled, or the live/cached layers over it.

The live layers (SQLite cache, clients, thread pool) are imported only for `live`/`cached`, so the
bundled path — the pre-commit hook and the webhook — never loads them.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tollgate.engine.prices import PriceSource

if TYPE_CHECKING:
    from tollgate.engine.config_types import Settings
    from tollgate.providers.live.cache import PriceCache

# A live fetch that finishes within this many seconds shows no progress bar at all.
PROGRESS_DELAY_SECONDS = 0.5


def price_cache_path() -> Path:
    """$TOLLGATE_PRICE_CACHE, else prices.sqlite in $TOLLGATE_CACHE_DIR, else in the user cache
    directory ($XDG_CACHE_HOME/tollgate or ~/.cache/tollgate)."""
    explicit = os.environ.get("TOLLGATE_PRICE_CACHE")
    if explicit:
        return Path(explicit)
    directory = os.environ.get("TOLLGATE_CACHE_DIR")
    if directory:
        return Path(directory) / "prices.sqlite"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tollgate" / "prices.sqlite"


def open_price_cache(settings: Settings | None = None) -> PriceCache:
    from tollgate.providers.live.cache import HOUR, PriceCache

    ttls: dict[str, float] = {}
    if settings is not None:
        ttl = settings.price_cache_ttl
        ttls = {
            "on_demand": ttl.on_demand_hours * HOUR,
            "reserved_1y": ttl.reserved_hours * HOUR,
            "reserved_3y": ttl.reserved_hours * HOUR,
            "spot": ttl.spot_hours * HOUR,
        }
    cache = PriceCache(price_cache_path())
    cache.ttls = {**cache.ttls, **ttls}
    return cache


def build_price_source(mode: str, settings: Settings | None, progress_stream: TextIO | None = None) -> PriceSource:
    from tollgate.providers.bundled import BundledCatalog

    bundled = BundledCatalog()
    if mode == "bundled":
        return bundled
    from tollgate.providers.live.base import ClientSettings, Endpoints
    from tollgate.providers.live.factory import DefaultClientFactory
    from tollgate.providers.live.source import LayeredPriceSource, machine_shape_lookup

    urls = settings.endpoints.urls() if settings else {}
    factory = DefaultClientFactory(ClientSettings(endpoints=Endpoints(urls)), machine_shape_lookup(bundled))
    stream = progress_stream if progress_stream is not None else sys.stderr
    progress = (lambda total: DelayedProgress(total, stream)) if _is_terminal(stream) else None
    return LayeredPriceSource(mode=mode, bundled=bundled, cache=open_price_cache(settings), clients=factory, progress=progress)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


class DelayedProgress:
    """A rich progress bar that appears only when live fetching takes more than a moment."""

    def __init__(self, total: int, stream: TextIO, delay: float = PROGRESS_DELAY_SECONDS) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.started = time.monotonic()
        self.delay = delay
        self._bar: Any = None
        self._task: Any = None

    def advance(self) -> None:
        self.done += 1
        if self._bar is None and time.monotonic() - self.started >= self.delay and self.done < self.total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("fetching live prices"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(file=self.stream), transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("live", total=self.total, completed=self.done)
        elif self._bar is not None:
            self._bar.update(self._task, completed=self.done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
