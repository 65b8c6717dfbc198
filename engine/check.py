"""The one engine entry point every door calls: inputs -> priced requests -> Report."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Protocol

import msgspec

from tollgate.engine.inputs import InputKind, collect_inputs
from tollgate.engine.model import ComputeRequest
from tollgate.engine.prices import PriceSource, SourceInfo
from tollgate.engine.pricing import DEFAULT_HOURS_PER_MONTH, PricedRequest, prepare_node_pools, price_requests
from tollgate.engine.report import Report

if TYPE_CHECKING:  # pydantic and YAML load only when a policy file is in play
    from tollgate.engine.config_types import Cluster
    from tollgate.engine.config_loader import ActiveConfig
    from tollgate.engine.node_group_links import Links
    from tollgate.engine.suggest.usage import Usage


class CheckOptions(msgspec.Struct):
    """What a door passes in. `config` None means "no policies" (pricing only); doors load the
    active tollgate.yaml with `config_loader.load_active_config`. Explicit hours/regions override
    the config's settings."""

    hours_per_month: int | None = None
    default_regions: dict[str, str] = msgspec.field(default_factory=dict)
    config: ActiveConfig | None = None
    today: dt.date | None = None  # for waiver expiry; injectable so tests and goldens are stable
    var_files: list[str] = msgspec.field(default_factory=list)  # extra *.tfvars for HCL, after the auto-loaded ones
    changed_files: bool = False  # paths are a hook's changed-file list: skip what is not an input
    cache: RequestCache | None = None  # parsed-input cache for repeated runs (pre-commit)
    suggest_level: str = "default"  # none | safe | default | all (engine.suggest.LEVELS)
    usage: dict[str, Usage] | None = None  # measured utilisation by address (--usage FILE)


class RequestCache(Protocol):
    """Where a door keeps parsed inputs between runs (integrations.parse_cache). Optional."""

    def key(self, kind: str, files: list[str], extra: str = "") -> str | None: ...

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any) -> None: ...


class ReadInputs(msgspec.Struct):
    requests: list[ComputeRequest]
    inputs: list[str]
    skipped: list[tuple[str, str]]  # (path, why) for files found in a directory but not read
    # The same requests per input, with the cache key of that input's content (None: not cached).
    groups: list[tuple[str | None, list[ComputeRequest]]] = msgspec.field(default_factory=list)

    def add(self, key: str | None, requests: list[ComputeRequest]) -> None:
        self.requests.extend(requests)
        self.groups.append((key, requests))


def read_requests(
    paths: list[str],
    var_files: list[str] | None = None,
    cluster: Cluster | None = None,
    lenient: bool = False,
    cache: RequestCache | None = None,
    prices: PriceSource | None = None,
) -> ReadInputs:
    """Every input through its reader. .tf files are read per directory (a module is the unit
    Terraform evaluates: variables, locals and tfvars live in sibling files)."""
    result = ReadInputs(requests=[], inputs=[], skipped=[])
    hcl_directories: dict[str, None] = {}
    for item in collect_inputs(paths, lenient):
        if item.kind is InputKind.PLAN:
            from tollgate.engine.terraform.plan_reader import read_plan_requests, read_plan_stream

            result.add(None, read_plan_requests(item.path) if item.data is None else read_plan_stream(item.path, item.data))
            result.inputs.append(item.path)
        elif item.kind is InputKind.HCL:
            hcl_directories.setdefault(os.path.dirname(item.path) or ".", None)
        elif item.data is not None:  # a stream: nothing to key a cache on, and it is read already
            result.add(None, _read_manifest_stream(item.path, item.data, cluster, prices))
            result.inputs.append(item.path)
        else:
            result.add(*_cached(cache, "manifest", [item.path], repr(cluster), partial(_read_manifest, item.path, cluster, prices)))
            result.inputs.append(item.path)
    for directory in _module_roots(list(hcl_directories)):
        files = _module_files(directory) + list(var_files or [])
        result.add(*_cached(cache, "hcl", files, "", partial(_read_hcl, directory, list(var_files or []))))
        result.inputs.append(directory)
    return result


def _read_manifest(path: str, cluster: Cluster | None, prices: PriceSource | None) -> list[ComputeRequest]:
    from tollgate.engine.kubernetes.reader import read_manifest_requests

    requests: list[ComputeRequest] = read_manifest_requests(path, cluster)
    # Karpenter NodePools list their candidate types by scanning the catalog: do it here, where
    # the result is cached with the file (the catalog is part of the cache key via the version).
    return prepare_node_pools(requests, prices) if prices is not None else requests


def _read_manifest_stream(name: str, data: bytes, cluster: Cluster | None, prices: PriceSource | None) -> list[ComputeRequest]:
    from tollgate.engine.kubernetes.reader import read_manifest_stream

    requests: list[ComputeRequest] = read_manifest_stream(data, name, cluster)
    return prepare_node_pools(requests, prices) if prices is not None else requests


def _read_hcl(directory: str, var_files: list[str]) -> list[ComputeRequest]:
    from tollgate.engine.hcl.reader import read_hcl_requests

    requests: list[ComputeRequest] = read_hcl_requests(directory, var_files)
    return requests


def _cached(
    cache: RequestCache | None, kind: str, files: list[str], extra: str, read: Callable[[], list[ComputeRequest]]
) -> tuple[str | None, list[ComputeRequest]]:
    key = cache.key(kind, files, extra) if cache else None
    if cache is not None and key is not None:
        hit = cache.get(key)
        if isinstance(hit, list):
            return key, hit
    requests = read()
    if cache is not None and key is not None:
        cache.put(key, requests)
    return key, requests


def _price_groups(
    read: ReadInputs, prices: PriceSource, regions: dict[str, str], hours: int, cache: RequestCache | None
) -> list[PricedRequest]:
    """Price every input; with a cache and the bundled catalog (which only changes with the
    Tollgate version, part of every key), an unchanged input's prices are loaded, not recomputed."""
    if cache is None or prices.mode != "bundled" or all(key is None for key, _ in read.groups):
        return price_requests(read.requests, prices, regions, hours)
    priced: list[PricedRequest] = []
    settings = f"priced:{hours}:{sorted(regions.items())}"
    for key, requests in read.groups:
        if key is None:
            priced.extend(price_requests(requests, prices, regions, hours))
            continue
        priced_key = hashlib.sha256(f"{key}:{settings}".encode()).hexdigest()
        hit = cache.get(priced_key)
        if isinstance(hit, list):
            priced.extend(hit)
            continue
        group = price_requests(requests, prices, regions, hours)
        cache.put(priced_key, group)
        priced.extend(group)
    return priced


def _module_files(directory: str, seen: set[str] | None = None) -> list[str]:
    """Every file a module's result depends on: its .tf/.tfvars and those of local modules it calls."""
    seen = seen if seen is not None else set()
    directory = os.path.normpath(directory)
    if directory in seen:
        return []
    seen.add(directory)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    files = [os.path.join(directory, n) for n in names if n.endswith((".tf", ".tfvars", ".tf.json"))]
    for source in _local_module_sources(directory):
        files += _module_files(os.path.join(directory, source), seen)
    return files


_LOCAL_MODULE_SOURCE_RE = re.compile(r'^\s*source\s*=\s*"(\.{1,2}/[^"]*)"', re.MULTILINE)


def _module_roots(directories: list[str]) -> list[str]:
    """Directories to read as root modules: those no other listed directory calls as a local
    module (`source = "./modules/x"`). A called module is read through its caller, with its inputs;
    reading it again on its own would price it twice, and without its inputs."""
    normalized = list(dict.fromkeys(os.path.normpath(d) for d in directories))
    called: set[str] = set()
    for directory in normalized:
        for source in _local_module_sources(directory):
            called.add(os.path.normpath(os.path.join(directory, source)))
    return [d for d in normalized if d not in called]


def _local_module_sources(directory: str) -> list[str]:
    sources: list[str] = []
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
    except OSError:
        return sources
    for name in names:
        try:
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                sources.extend(_LOCAL_MODULE_SOURCE_RE.findall(handle.read()))
        except OSError:
            continue
    return sources


def run_check(paths: list[str], prices: PriceSource, options: CheckOptions | None = None) -> Report:
    options = options or CheckOptions()
    config = options.config
    settings = config.settings if config else None
    hours = options.hours_per_month or (settings.hours_per_month if settings else DEFAULT_HOURS_PER_MONTH)
    regions: dict[str, str] = {str(k): v for k, v in settings.default_region.items()} if settings else {}
    regions.update(options.default_regions)
    read = read_requests(paths, options.var_files, config.cluster if config else None, options.changed_files, options.cache, prices)
    _prefetch(read.requests, prices, regions, hours)
    priced = _price_groups(read, prices, regions, hours, options.cache)
    # Pods scheduled on a node group of this change run on nodes priced with the group: linked
    # once here, so that rules, totals and suggestions all see them that way.
    priced, links = _place_pods_on_node_groups(priced, prices)
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
    today = options.today or dt.date.today()
    if config is not None:
        from tollgate.engine.rules.evaluate import evaluate_policies

        from tollgate.engine.rules.budget import budget_spend_statuses, fetch_actual_spend

        spend = fetch_actual_spend(config.policies, prices, today)
        report.findings = evaluate_policies(config, priced, prices, hours, today, spend)
        report.budgets = budget_spend_statuses(config.policies, priced, hours, today, spend)
    problems = getattr(prices, "problems", None)
    report.pricing_problems = problems() if callable(problems) else []
    if options.suggest_level != "none" or options.usage:
        _add_suggestions(report, priced, prices, config, hours, options, links)
    return report


def _place_pods_on_node_groups(priced: list[PricedRequest], prices: PriceSource) -> tuple[list[PricedRequest], Links | None]:
    """Link the pod requests to the node groups of the check (`engine.node_group_links`) and place
    the linked pods on their group. (None, and the module is not even loaded, when the check has
    no pod request or no node group: there is nothing to link.)"""
    if not any(item.request.pod is not None for item in priced) or not any(item.request.node_group is not None for item in priced):
        return priced, None
    from tollgate.engine.node_group_links import link_pods, place_on_node_groups

    return place_on_node_groups(priced, link_pods(priced, prices), prices)


def _prefetch(requests: list[ComputeRequest], prices: PriceSource, regions: dict[str, str], hours: int) -> None:
    """A source with round trips (live) learns every lookup up front and fetches them concurrently."""
    prefetch = getattr(prices, "prefetch", None)
    offline = getattr(prices, "offline", None)
    if not (callable(prefetch) and callable(offline)) or not requests:
        return
    from tollgate.engine.prefetch import plan_lookups

    prefetch(plan_lookups(requests, offline(), regions, hours))


def _add_suggestions(
    report: Report,
    priced: list[PricedRequest],
    prices: PriceSource,
    config: ActiveConfig | None,
    hours: int,
    options: CheckOptions,
    links: Links | None,
) -> None:
    from tollgate.engine.node_group_links import Links
    from tollgate.engine.suggest import suggest, usage_findings

    links = links if links is not None else Links()  # None: nothing to link in this check
    report.suggestions = suggest(priced, prices, config, hours, options.suggest_level, options.usage, links)
    if options.usage:
        extra = usage_findings(priced, options.usage)
        if extra:
            from tollgate.engine.rules.evaluate import SEVERITY_ORDER

            report.findings = sorted(
                report.findings + extra, key=lambda f: (f.waived, SEVERITY_ORDER.get(f.severity, 3), f.policy_id, f.address)
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
