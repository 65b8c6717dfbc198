"""`tollgate` command line. Exit codes: 0 pass, 1 blocking findings, 2 usage or input error.

Start-up matters (this is also the pre-commit path): heavy modules (rich, provider SDKs) are
imported only by the code path that needs them.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from tollgate.engine.report import Report

EXIT_OK = 0
EXIT_BLOCKED = 1
EXIT_USAGE = 2

FORMATS = ("table", "json", "text")
PRICING_MODES = ("bundled", "live", "cached")
FAIL_ON = ("error", "warning", "never")
SUGGEST_LEVELS = ("none", "safe", "default", "all")

_REGION_SHAPES = (
    ("aws", re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")),
    ("gcp", re.compile(r"^[a-z]+-[a-z]+\d+$")),
    ("azure", re.compile(r"^[a-z]+\d?$")),
)


class _VersionAction(argparse.Action):
    """--version without importing the engine."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object, option: str | None = None) -> None:
        from tollgate.engine.version import __version__

        print(f"tollgate {__version__}")
        raise SystemExit(EXIT_OK)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"tollgate: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tollgate", description="Policy-as-code cost gate for infrastructure changes.")
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    check = commands.add_parser("check", help="price and check Terraform plans, .tf files and Kubernetes manifests")
    check.add_argument("paths", nargs="*", metavar="PATH", help="plan JSON, .tf files or module directories, YAML manifests, or directories holding any of them (default: .)")
    check.add_argument("--format", choices=FORMATS, default=None, help="table (default), json, or text (one line per finding; the default with --hook)")
    check.add_argument("--output", metavar="FILE", help="write the report here instead of standard output")
    check.add_argument(
        "--pricing",
        choices=PRICING_MODES,
        default=None,
        help="bundled (offline catalog), live (provider APIs -> cache -> bundled) or cached (cache -> bundled, no network); "
        "default: settings.pricing (bundled)",
    )
    check.add_argument("--fail-on", choices=FAIL_ON, default="error")
    check.add_argument(
        "--region-default",
        action="append",
        default=[],
        metavar="R",
        help="region for requests that name none, e.g. us-east-1 or gcp=us-central1 (repeatable); reported as such",
    )
    check.add_argument("--hours-per-month", type=int, default=None, metavar="N", help="default: settings.hours_per_month (730)")
    check.add_argument("--config", metavar="FILE", help="policy file (default: nearest tollgate.yaml up from here, else the built-in default pack)")
    check.add_argument("--var-file", action="append", default=[], metavar="FILE", help="tfvars for .tf inputs, after terraform.tfvars and *.auto.tfvars (repeatable)")
    check.add_argument(
        "--hook",
        action="store_true",
        help="PATHs are a pre-commit changed-file list: files that are not inputs (or were deleted) are skipped; a .tf file stands for its module directory",
    )
    check.add_argument(
        "--suggest",
        choices=SUGGEST_LEVELS,
        default=None,
        help="cheaper alternatives to report: none, safe (no spot or region moves), default (every kind but cloud; the default), "
        "all (with cross-cloud information). With --hook the default is none: the hook is a fast gate",
    )
    check.add_argument(
        "--usage",
        metavar="FILE",
        help="measured utilisation (YAML/JSON address -> {cpu, memory, gpu, gpu_memory} percent, or CSV): downsizing suggestions and over-90%% warnings",
    )
    commands.add_parser("schema", help="print the JSON Schema of tollgate.yaml")
    prices = commands.add_parser("prices", help="the local cache of live prices: show, refresh or clear it")
    actions = prices.add_subparsers(dest="prices_command", metavar="ACTION", parser_class=_Parser, required=True)
    show = actions.add_parser("show", help="list cached live prices with their age")
    show.add_argument("--provider", choices=("aws", "gcp", "azure"))
    show.add_argument("--format", choices=("table", "json"), default="table")
    refresh = actions.add_parser("refresh", help="fetch live prices again: for PATHs' resources, else for everything cached")
    refresh.add_argument("paths", nargs="*", metavar="PATH")
    refresh.add_argument("--config", metavar="FILE")
    refresh.add_argument("--var-file", action="append", default=[], metavar="FILE")
    catalog = commands.add_parser("catalog", help="regenerate the bundled price catalog")
    catalog_actions = catalog.add_subparsers(dest="catalog_command", metavar="ACTION", parser_class=_Parser, required=True)
    build = catalog_actions.add_parser("build", help="write a catalog in the bundled format, from the live APIs or from CSVs")
    build.add_argument("--from", dest="source", required=True, metavar="live|DIR", help="'live' (provider APIs; needs credentials) or a directory of CSVs in the ../shared/pricing schema")
    build.add_argument("--out", required=True, metavar="DIR", help="where to write it (providers/catalog to replace the bundled one)")
    build.add_argument("--provider", action="append", choices=("aws", "gcp", "azure"), default=[], help="with --from live: refresh only these (repeatable); other cells are kept")
    build.add_argument("--region", action="append", default=[], metavar="R", help="with --from live: refresh only these regions (repeatable)")
    build.add_argument("--config", metavar="FILE", help="tollgate.yaml whose settings.endpoints to use")
    clear = actions.add_parser("clear", help="delete cached live prices")
    clear.add_argument("--provider", choices=("aws", "gcp", "azure"))
    policies = commands.add_parser("policies", help="list the policy types and the active policies")
    policies.add_argument("--config", metavar="FILE")
    return parser


def parse_region_defaults(values: Sequence[str]) -> dict[str, str]:
    defaults: dict[str, str] = {}
    for value in values:
        provider, sep, region = value.partition("=")
        if sep:
            if provider not in ("aws", "gcp", "azure"):
                raise ValueError(f"--region-default {value}: provider must be aws, gcp or azure")
            defaults[provider] = region
            continue
        for name, shape in _REGION_SHAPES:
            if shape.match(value):
                defaults.setdefault(name, value)
                break
        else:
            raise ValueError(f"--region-default {value}: cannot tell the provider; write it as aws=REGION, gcp=REGION or azure=REGION")
    return defaults


def _run_check(args: argparse.Namespace) -> int:
    from tollgate.engine.check import CheckOptions, run_check
    from tollgate.engine.config_loader import load_active_config
    from tollgate.integrations.parse_cache import ParseCache
    from tollgate.integrations.price_source import build_price_source

    try:
        defaults = parse_region_defaults(args.region_default)
    except ValueError as error:
        print(f"tollgate: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.hours_per_month is not None and args.hours_per_month <= 0:
        print("tollgate: error: --hours-per-month must be positive", file=sys.stderr)
        return EXIT_USAGE
    config = load_active_config(args.config)
    pricing = args.pricing or config.settings.pricing
    usage = None
    if args.usage:
        from tollgate.engine.suggest.usage import load_usage

        usage = load_usage(args.usage)
    options = CheckOptions(
        hours_per_month=args.hours_per_month,
        default_regions=defaults,
        config=config,
        var_files=args.var_file,
        changed_files=args.hook,
        cache=ParseCache.from_environment(),
        # Suggestions search the catalog per request (~0.5 s on a typical change): off by default on
        # the latency-critical hook path, where the gate is the point; `--suggest default` turns them on.
        suggest_level=args.suggest or ("none" if args.hook else "default"),
        usage=usage,
    )
    report = run_check(args.paths or ["."], build_price_source(pricing, config.settings), options)
    for problem in report.pricing_problems:  # a provider failed: one line each, the report says the rest
        print(f"tollgate: warning: {problem}", file=sys.stderr)
    stream = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        output_format = args.format or ("text" if args.hook else "table")
        if output_format == "json":
            from tollgate.integrations.render_json import render_json

            stream.write(render_json(report))
        elif output_format == "text":
            from tollgate.integrations.render_text import render_text

            render_text(report, stream)
        else:
            from tollgate.integrations.render_table import render_table

            render_table(report, stream, width=None if stream.isatty() else 160)
    finally:
        if stream is not sys.stdout:
            stream.close()
    return _exit_code(report, args.fail_on)


def _exit_code(report: Report, fail_on: str) -> int:
    return EXIT_BLOCKED if report.blocking(fail_on) else EXIT_OK


def _run_schema() -> int:
    import json

    from tollgate.engine.config import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def _run_policies(args: argparse.Namespace) -> int:
    from tollgate.engine.config_loader import builtin_packs, load_active_config
    from tollgate.engine.rules import RULES

    config = load_active_config(args.config)  # first: a bad file is one error line, not half a listing
    print("Policy types:")
    for rule in RULES.values():
        print(f"  {rule.id:<14} {rule.summary}")
    print("Built-in packs: " + ", ".join(f"builtin:{name}" for name in builtin_packs()))
    print(f"Active policies ({config.path}):")
    for policy in config.policies:
        origin = config.origins.get(policy.id, "")
        print(f"  {policy.id:<24} {policy.type:<14} {policy.severity:<8} from {origin}")
    if not config.policies:
        print("  none")
    for entry in config.exceptions:
        expires = f", expires {entry.expires}" if entry.expires else ""
        print(f"  exception: {entry.policy} on {entry.resource} ({entry.reason or 'no reason'}{expires})")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    # Pydantic looks for plugins by scanning every installed distribution's entry points on its
    # first validation (~15 ms); the command line validates its own policy files and needs none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # A check allocates millions of small, acyclic objects (parsed documents, requests) and exits:
    # collect cycles far less often than the default (every 140,000 allocations instead of 700).
    gc.set_threshold(140_000, 30, 30)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from tollgate.engine.errors import TollgateError

    try:
        if args.command == "schema":
            return _run_schema()
        if args.command == "policies":
            return _run_policies(args)
        if args.command == "catalog":
            from tollgate.integrations.prices_command import run_catalog_build

            return run_catalog_build(args)
        if args.command == "prices":
            from tollgate.integrations.prices_command import run_prices

            return run_prices(args)
        return _run_check(args)
    except TollgateError as error:
        print(f"tollgate: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # e.g. --output into a missing directory
        print(f"tollgate: error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug in Tollgate, not bad input: say so, keep CI output to one line
        if os.environ.get("TOLLGATE_DEBUG"):
            raise
        print(
            f"tollgate: internal error: {type(error).__name__}: {error} (set TOLLGATE_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
