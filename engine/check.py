"""The one engine entry point every door calls: inputs -> priced requests -> Report."""

from __future__ import annotations

from dataclasses import dataclass, field

from tollgate.engine.errors import InputError
from tollgate.engine.inputs import InputKind, collect_inputs
from tollgate.engine.model import ComputeRequest
from tollgate.engine.prices import PriceSource, SourceInfo
from tollgate.engine.pricing import DEFAULT_HOURS_PER_MONTH, PricedRequest, price_requests
from tollgate.engine.report import Report


@dataclass(slots=True)
class CheckOptions:
    hours_per_month: int = DEFAULT_HOURS_PER_MONTH
    default_regions: dict[str, str] = field(default_factory=dict)


def read_requests(paths: list[str]) -> tuple[list[ComputeRequest], list[str]]:
    requests: list[ComputeRequest] = []
    inputs = collect_inputs(paths)
    for item in inputs:
        if item.kind is InputKind.PLAN:
            from tollgate.engine.terraform.plan_reader import read_plan_requests

            requests.extend(read_plan_requests(item.path))
        else:
            raise InputError(
                item.path,
                f"{item.kind.value} input is not supported yet; check a plan instead "
                "(`terraform show -json plan.out > plan.json`)",
            )
    return requests, [item.path for item in inputs]


def run_check(paths: list[str], prices: PriceSource, options: CheckOptions | None = None) -> Report:
    options = options or CheckOptions()
    requests, inputs = read_requests(paths)
    priced = price_requests(requests, prices, options.default_regions)
    return Report(
        pricing_mode=prices.mode,
        sources=_sources_used(priced, prices),
        catalog_as_of=_catalog_as_of(prices),
        resources=priced,
        inputs=inputs,
        hours_per_month=options.hours_per_month,
    )


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
