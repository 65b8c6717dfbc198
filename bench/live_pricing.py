"""What live pricing costs, as ratios measured in one run on this machine.

    python bench/live_pricing.py [--types 100] [--latency 0.05] [--repeat 3]

A plan with N distinct EC2 instance types is checked in fresh processes with `--pricing bundled`
and with `--pricing live` against a local fake of the AWS Price List API (real boto3, real HTTP on
127.0.0.1) that answers every request after an injected latency (50 ms, like a real round trip):
cold (empty price cache) and warm (the cache from the previous run).
Targets (issue #6): cold <= 1 s of added wall time per 50 distinct lookups; warm <= 1.2x bundled.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the fakes live with the tests

from tests.fakes.aws_fake import AwsFake  # noqa: E402
from tests.fakes.loopback import LoopbackServer  # noqa: E402


def distinct_types(count: int) -> list[str]:
    from tollgate.engine.prices import PriceQuote
    from tollgate.providers.bundled import BundledCatalog

    catalog = BundledCatalog()
    chosen = []
    for spec in catalog.types_for("aws"):
        if isinstance(catalog.price("aws", "us-east-1", spec.instance_type, "on_demand"), PriceQuote):
            chosen.append(spec.instance_type)
        if len(chosen) == count:
            break
    return chosen


def plan_for(types: list[str]) -> dict[str, object]:
    changes = [
        {
            "address": f"aws_instance.n{i}",
            "mode": "managed",
            "type": "aws_instance",
            "name": f"n{i}",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["create"], "before": None, "after": {"instance_type": t, "tags": {"team": "ml"}}, "after_unknown": {}},
        }
        for i, t in enumerate(types)
    ]
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.0",
        "resource_changes": changes,
        "configuration": {"provider_config": {"aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"}}}}},
    }


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    types = distinct_types(args.types)
    fake = AwsFake()
    for index, instance_type in enumerate(types):
        fake.add_product("us-east-1", instance_type, f"{1 + index / 100:.2f}")
    work = Path(tempfile.mkdtemp(prefix="tollgate-bench-live-"))
    plan = work / "plan.json"
    plan.write_text(json.dumps(plan_for(types)))
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        AWS_ACCESS_KEY_ID="AKIAFAKEFAKEFAKEFAKE", AWS_SECRET_ACCESS_KEY="fake", AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(work / "none"), AWS_SHARED_CREDENTIALS_FILE=str(work / "none"), TOLLGATE_NO_CACHE="1",
    )
    tollgate = [sys.executable, "-m", "tollgate.integrations.cli", "check", str(plan), "--format", "json", "--suggest", "none"]

    with LoopbackServer(fake.handle, latency=args.latency) as server:
        config = work / "tollgate.yaml"
        config.write_text(f"version: 1\nsettings:\n  endpoints:\n    aws_pricing: {server.url}\n    aws_ec2: {server.url}\n")
        live = tollgate + ["--config", str(config), "--pricing", "live"]
        bundled = tollgate + ["--config", str(config), "--pricing", "bundled"]
        timed(bundled, env)  # warm the OS file cache and .pyc files once
        results: dict[str, list[float]] = {"bundled": [], "cold": [], "warm": []}
        requests = 0
        for run in range(args.repeat):
            cache = dict(env, TOLLGATE_PRICE_CACHE=str(work / f"prices-{run}.sqlite"))
            results["bundled"].append(timed(bundled, cache))
            before = len(server.requests)
            results["cold"].append(timed(live, cache))
            requests = len(server.requests) - before
            results["warm"].append(timed(live, cache))
    bundled_s, cold_s, warm_s = (statistics.median(results[k]) for k in ("bundled", "cold", "warm"))
    added_per_50 = (cold_s - bundled_s) / (len(types) / 50)
    print(f"plan with {len(types)} distinct instance types, {args.latency * 1000:.0f} ms per request, median of {args.repeat}")
    print(f"  bundled:            {bundled_s:6.2f} s")
    print(f"  live, cold cache:   {cold_s:6.2f} s  ({cold_s / bundled_s:.2f}x bundled; {requests} requests; "
          f"+{added_per_50:.2f} s per 50 lookups, target <= 1 s)")
    print(f"  live, warm cache:   {warm_s:6.2f} s  ({warm_s / bundled_s:.2f}x bundled, target <= 1.2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
