"""The one engine entry point every door calls: inputs -> priced requests -> Report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

from tollgate.engine.errors import InputError
from tollgate.engine.inputs import InputKind, collect_inputs
from tollgate.engine.model import ComputeRequest
from tollgate.engine.prices import PriceSource, SourceInfo
from tollgate.engine.pricing import DEFAULT_HOURS_PER_MONTH, PricedRequest, price_requests
from tollgate.engine.report import Report

if TYPE_CHECKING:  # pydantic and YAML load only when a policy file is in play
    from tollgate.engine.config_loader import ActiveConfig


@dataclass(slots=True)
class CheckOptions:
    """What a door passes in. `config` None means "no policies" (pricing only); doors load the
    active tollgate.yaml with `config_loader.load_active_config`. Explicit hours/regions override
    the config's settings."""

    hours_per_month: int | None = None
    default_regions: dict[str, str] = field(default_factory=dict)
    config: ActiveConfig | None = None
    today: dt.date | None = None  # for waiver expiry; injectable so tests and goldens are stable


@dataclass(slots=True)
class ReadInputs:
    requests: list[ComputeRequest]
    inputs: list[str]
    skipped: list[tuple[str, str]]  # (path, why) for files found in a directory but not read


_NOT_YET = "input is not supported yet; check a plan instead (`terraform show -json plan.out > plan.json`)"


def read_requests(paths: list[str]) -> ReadInputs:
    result = ReadInputs(requests=[], inputs=[], skipped=[])
    for item in collect_inputs(paths):
        if item.kind is InputKind.PLAN:
            from tollgate.engine.terraform.plan_reader import read_plan_requests

            result.requests.extend(read_plan_requests(item.path))
            result.inputs.append(item.path)
        elif item.explicit:
            raise InputError(item.path, f"{item.kind.value} {_NOT_YET}")
        else:
            result.skipped.append((item.path, f"{item.kind.value} input is not supported yet"))
    return result


def run_check(paths: list[str], prices: PriceSource, options: CheckOptions | None = None) -> Report:
    options = options or CheckOptions()
    config = options.config
    settings = config.settings if config else None
    hours = options.hours_per_month or (settings.hours_per_month if settings else DEFAULT_HOURS_PER_MONTH)
    regions: dict[str, str] = {str(k): v for k, v in settings.default_region.items()} if settings else {}
    regions.update(options.default_regions)
    read = read_requests(paths)
    priced = price_requests(read.requests, prices, regions)
    report = Report(
        pricing_mode=prices.mode,
        sources=_sources_used(priced, prices),
        catalog_as_of=_catalog_as_of(prices),
        resources=priced,
        inputs=read.inputs,
        skipped=read.skipped,
        hours_per_month=hours,
        config_path=config.path if config else None,
    )
    if config is not None:
        from tollgate.engine.rules.evaluate import evaluate_policies

        report.findings = evaluate_policies(config, priced, prices, hours, options.today or dt.date.today())
    return report


def _sources_used(priced: list[PricedRequest], prices: PriceSource) -> list[SourceInfo]:
    names: set[str] = set()
    for item in priced:
        for state in (item.after, item.before):
            for part in state.parts if state else []:
                names.update(n for n in part.unit.upstream.split(" + ") if n)
    return sorted((s for s in prices.sources() if s.name in names), key=lambda s: s.name)


def _catalog_as_of(prices: PriceSource) -> str | None:
    as_of = getattr(prices, "catalog_as_of", None)
    return as_of() if callable(as_of) else None
