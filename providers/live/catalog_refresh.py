"""`tollgate catalog build --from live`: regenerate the bundled catalog from the live APIs.

Every (type, region) the current catalog prices is looked up live (concurrently, through the same
LayeredPriceSource as `--pricing live`); the answers are written as CSVs in the ../shared/pricing
schema and handed to the same builder, so the output has exactly the format the bundled catalog
has. Nothing is lost: a cell the live APIs did not answer (a provider not selected, an API
failure, an option the API does not sell) keeps its current value and its original source.
Specs (vCPU, memory, GPUs) are carried over: the price APIs do not describe GPUs reliably.
"""

from __future__ import annotations

import csv
import msgspec
import datetime as dt
import gzip
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Iterator

from tollgate.engine.prices import PriceLookup
from tollgate.providers.bundled import ACCELERATOR_PRICE_COLUMNS, PROVIDERS, SHARD_PRICE_COLUMNS, SPEC_COLUMNS, parse_price_cell
from tollgate.providers.live.base import LiveQuote, plain_decimal
from tollgate.providers.live.source import API_NAMES, LayeredPriceSource

CATALOG_DIR = Path(__file__).resolve().parents[1] / "catalog"


class RefreshSummary(msgspec.Struct):
    lookups: int = 0
    live_cells: int = 0
    kept_cells: int = 0
    problems: list[str] = msgspec.field(default_factory=list)
    build: dict[str, object] = msgspec.field(default_factory=dict)


def _shard_lines(catalog_dir: Path, provider: str) -> Iterator[list[str]]:
    for shard in sorted((catalog_dir / provider / "prices").glob("*.tsv")):
        lines = shard.read_text(encoding="utf-8").splitlines()
        for line in lines[1:]:
            if line:
                yield line.split("\t")


def _price_text(value: str) -> str:
    """A live price as the catalog writes it: plain decimal, at most 9 places, no trailing zeros."""
    return plain_decimal(Decimal(value).quantize(Decimal("0.000000001")))


def refresh_catalog(
    source: LayeredPriceSource,
    out_dir: Path,
    providers: Iterable[str] = PROVIDERS,
    regions: Iterable[str] = (),
    catalog_dir: Path = CATALOG_DIR,
    today: dt.date | None = None,
) -> RefreshSummary:
    from tollgate.providers import catalog_builder as builder

    chosen, wanted_regions = set(providers), set(regions)
    as_of = (today or dt.date.today()).isoformat()
    bundled = source.bundled
    source_info = {s.id: s for s in bundled.sources()}

    # 1. What exists now: every priced cell, with its current value and source.
    current: dict[tuple[str, str, str, str], tuple[str, str, str]] = {}  # (provider, region, type, option) -> (price, name, as_of)
    for provider in PROVIDERS:
        for instance_type, region, *cells in _shard_lines(catalog_dir, provider):
            for option, cell in zip(SHARD_PRICE_COLUMNS, cells):
                parsed = parse_price_cell(cell)
                if parsed is not None:
                    info = source_info[parsed[1]]
                    current[(provider, region, instance_type, option)] = (parsed[0], info.name, info.as_of)
    accelerators: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    accelerator_lines = (catalog_dir / "gcp" / "accelerators.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for line in accelerator_lines:
        region, accelerator, *cells = line.split("\t")
        for option, cell in zip(ACCELERATOR_PRICE_COLUMNS, cells):
            parsed = parse_price_cell(cell)
            if parsed is not None:
                info = source_info[parsed[1]]
                accelerators[(region, accelerator, option)] = (parsed[0], info.name, info.as_of)

    # 2. Ask the live APIs for all of it (selected providers and regions), all at once.
    def selected(provider: str, region: str) -> bool:
        return provider in chosen and (not wanted_regions or region in wanted_regions)

    lookups = {PriceLookup(p, r, t, o) for (p, r, t, o) in current if selected(p, r)}
    lookups |= {PriceLookup("gcp", r, a, o, accelerator=True) for (r, a, o) in accelerators if selected("gcp", r)}
    source.prefetch(lookups, force=True)
    live = source.live_quotes()
    summary = RefreshSummary(lookups=len(lookups), problems=source.problems())

    def live_name(api: str) -> str:
        return f"{API_NAMES[api][0]}, fetched {as_of}"

    def live_cell(quote: LiveQuote) -> tuple[str, str, str]:
        return (_price_text(quote.hourly_usd), live_name(quote.api), as_of)

    for quote in live:
        if quote.instance_type.startswith("accelerator:"):
            key3 = (quote.region, quote.instance_type.split(":", 1)[1], quote.option)
            if quote.option in ACCELERATOR_PRICE_COLUMNS and key3 in accelerators:
                accelerators[key3] = live_cell(quote)
                summary.live_cells += 1
        elif (key := (quote.provider, quote.region, quote.instance_type, quote.option)) in current or selected(quote.provider, quote.region):
            current[key] = live_cell(quote)
            summary.live_cells += 1
    summary.kept_cells = len(current) + len(accelerators) - summary.live_cells

    # 3. Write the CSVs in the ../shared/pricing schema and build the catalog from them.
    # Sources: the built-in upstreams, those of an earlier live build still cited by kept cells,
    # and today's live APIs (dated names: an older live price keeps its own date).
    builtin_names = {u.name for u in builder.UPSTREAMS}
    earlier = tuple(
        builder.Upstream(id=s.id, provenance_id="live", repo=s.name, commit="", path="", as_of=s.as_of, licence=s.licence,
                         used_for="prices fetched live", display_name=s.name)
        for s in source_info.values()
        if s.name not in builtin_names and not s.name.endswith(f"fetched {as_of}")
    )
    today_live = tuple(
        builder.Upstream(id=f"live-{api}-{as_of}", provenance_id="live", repo=name, commit="", path="", as_of=as_of,
                         licence=licence, used_for=f"prices fetched live on {as_of}", display_name=live_name(api))
        for api, (name, licence) in sorted(API_NAMES.items())
    )
    cited = {name for _, name, _ in current.values()} | {name for _, name, _ in accelerators.values()}
    upstreams = builder.UPSTREAMS + tuple(u for u in earlier + today_live if u.name in cited)
    with tempfile.TemporaryDirectory(prefix="tollgate-catalog-") as scratch:
        folder = Path(scratch)
        with open(folder / builder.SPECS_FILE, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(("provider", *SPEC_COLUMNS))
            for provider in PROVIDERS:
                lines = (catalog_dir / provider / "specs.tsv").read_text(encoding="utf-8").splitlines()[1:]
                writer.writerows([provider, *line.split("\t")] for line in lines if line)
        with gzip.open(folder / builder.ALL_REGIONS_FILE, "wt", encoding="utf-8", newline="") as zipped:
            writer = csv.writer(zipped, lineterminator="\n")
            writer.writerow(("provider", "region", "instance_type", "pricing_model", "usd_per_hour", "os", "source", "as_of"))
            for (provider, region, instance_type, option), (price, name, date) in sorted(current.items()):
                writer.writerow((provider, region, instance_type, option, price, "linux", name, date))
        with open(folder / builder.ACCELERATORS_FILE, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(("provider", "region", "accelerator_type", "pricing_model", "usd_per_hour_per_gpu", "source", "as_of"))
            for (region, accelerator, option), (price, name, date) in sorted(accelerators.items()):
                writer.writerow(("gcp", region, accelerator, option, price, name, date))
        summary.build = builder.build(folder, out_dir, upstreams, label="the providers' live price APIs")
    return summary
