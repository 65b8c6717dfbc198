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
    read = read_requests(paths)
    priced = price_requests(read.requests, prices, options.default_regions)
    return Report(
        pricing_mode=prices.mode,
        sources=_sources_used(priced, prices),
        catalog_as_of=_catalog_as_of(prices),
        resources=priced,
        inputs=read.inputs,
        skipped=read.skipped,
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
