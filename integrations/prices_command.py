"""`tollgate prices show|refresh|clear`: look after the local cache of live prices."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from tollgate.engine.prices import PriceLookup

if TYPE_CHECKING:
    from tollgate.engine.config_loader import ActiveConfig
    from tollgate.providers.live.source import LayeredPriceSource

EXIT_OK = 0


def run_prices(args: argparse.Namespace) -> int:
    from tollgate.integrations.price_source import open_price_cache, price_cache_path

    if args.prices_command == "show":
        return _show(args)
    if args.prices_command == "clear":
        removed = open_price_cache().clear(args.provider)
        print(f"removed {removed} cached price{'s' if removed != 1 else ''} from {price_cache_path()}")
        return EXIT_OK
    return _refresh(args)


def _show(args: argparse.Namespace) -> int:
    from tollgate.integrations.price_source import open_price_cache, price_cache_path

    cache = open_price_cache()
    rows = cache.rows(args.provider)
    now = time.time()
    if args.format == "json":
        payload = {
            "cache": str(price_cache_path()),
            "prices": [
                {
                    "provider": r.quote.provider,
                    "region": r.quote.region,
                    "instance_type": r.quote.instance_type,
                    "option": r.quote.option,
                    "hourly_usd": r.quote.hourly_usd,
                    "api": r.quote.api,
                    "effective": r.quote.effective,
                    "detail": r.quote.detail,
                    "fetched_at": r.fetched_iso,
                    "fresh": cache.is_fresh(r, now),
                }
                for r in rows
            ],
        }
        print(json.dumps(payload, indent=2))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Cached live prices ({price_cache_path()})", title_justify="left")
    for column in ("provider", "region", "instance type", "option", "$/hour", "api", "fetched", "fresh"):
        table.add_column(column, justify="right" if column == "$/hour" else "left")
    for r in rows:
        q = r.quote
        table.add_row(q.provider, q.region, q.instance_type, q.option, q.hourly_usd, q.api, r.fetched_iso, "yes" if cache.is_fresh(r, now) else "stale")
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160)
    if rows:
        console.print(table)
    else:
        console.print(f"no cached live prices in {price_cache_path()}")
    return EXIT_OK


def _refresh(args: argparse.Namespace) -> int:
    from tollgate.engine.config_loader import load_active_config
    from tollgate.integrations.price_source import build_price_source
    from tollgate.providers.live.source import LayeredPriceSource

    config = load_active_config(args.config)
    source = build_price_source("live", config.settings)
    assert isinstance(source, LayeredPriceSource)
    lookups = _lookups_for_paths(args, source, config) if args.paths else _lookups_in_cache(source)
    source.prefetch(lookups, force=True)
    print(f"refreshed {source.fetched()} live price{'s' if source.fetched() != 1 else ''} for {len(lookups)} lookup{'s' if len(lookups) != 1 else ''}")
    for problem in source.problems():
        print(f"tollgate: warning: {problem}", file=sys.stderr)
    return EXIT_OK


def _lookups_in_cache(source: LayeredPriceSource) -> set[PriceLookup]:
    assert source.cache is not None  # build_price_source always opens one
    lookups = set()
    for row in source.cache.rows():
        q = row.quote
        accelerator = q.instance_type.startswith("accelerator:")
        name = q.instance_type.split(":", 1)[1] if accelerator else q.instance_type
        lookups.add(PriceLookup(q.provider, q.region, name, q.option, accelerator))
    return lookups


def _lookups_for_paths(args: argparse.Namespace, source: LayeredPriceSource, config: ActiveConfig) -> set[PriceLookup]:
    from tollgate.engine.check import read_requests
    from tollgate.engine.prefetch import plan_lookups

    read = read_requests(args.paths, args.var_file, config.cluster, prices=source.offline())
    regions = {str(k): v for k, v in config.settings.default_region.items()}
    return plan_lookups(read.requests, source.offline(), regions, config.settings.hours_per_month)


def run_catalog_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tollgate.engine.errors import InputError

    out = Path(args.out)
    if args.source != "live":
        from tollgate.providers.catalog_builder import BuildError, build

        if not Path(args.source).is_dir():
            raise InputError(args.source, "--from takes 'live' or a directory of pricing CSVs")
        try:
            summary = build(Path(args.source), out)
        except (BuildError, FileNotFoundError, KeyError) as error:
            raise InputError(args.source, str(error)) from None
        print(f"wrote {summary['files']} files to {out}")
        return EXIT_OK
    from tollgate.engine.config_loader import load_active_config
    from tollgate.integrations.price_source import build_price_source
    from tollgate.providers.live.catalog_refresh import refresh_catalog
    from tollgate.providers.live.source import LayeredPriceSource

    config = load_active_config(args.config)
    source = build_price_source("live", config.settings)
    assert isinstance(source, LayeredPriceSource)
    result = refresh_catalog(source, out, providers=args.provider or ("aws", "gcp", "azure"), regions=args.region)
    print(
        f"wrote {result.build.get('files')} files to {out}: {result.live_cells} prices fetched live, "
        f"{result.kept_cells} kept from the current catalog ({result.lookups} lookups)"
    )
    for problem in result.problems:
        print(f"tollgate: warning: {problem}", file=sys.stderr)
    return EXIT_OK
