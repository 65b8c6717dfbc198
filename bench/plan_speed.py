"""How fast and how lean `tollgate check --format json` is on a 10,000-resource plan, relative to
a bare `orjson.loads` of the same file, both in fresh processes, measured in the same run.

    python bench/plan_speed.py [--repeat 3] [--shared ../shared]

Two plans: the real 10k plan from the shared corpus (28 MB) and a synthetic one built from it with
richer attributes (~100 MB: nested rule blocks and long strings on every resource, the shape of
real IAM/S3/security-group payloads). Prints the median wall time and peak RSS of each command
and the ratios tollgate/orjson. Targets (issue #2): time <= 2x, peak RSS <= 1x.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
LARGE_PLAN = Path("corpus/terraform-plans/aws-real/large/large-10k/plan.json.gz")


def run_measured(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one fresh child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"command failed ({process.returncode}): {' '.join(command)}\n{stderr}")
    return wall, usage.ru_maxrss


def measure(label: str, command: list[str], repeat: int) -> tuple[float, int]:
    samples = [run_measured(command) for _ in range(repeat)]
    wall = statistics.median(s[0] for s in samples)
    rss = max(s[1] for s in samples)
    print(f"  {label:<10} {wall:7.3f} s   {rss / 1024:8.1f} MiB peak RSS   (median of {repeat})")
    return wall, rss


def synthesize_rich_plan(source_path: Path, target: Path, bytes_goal: int = 100_000_000) -> None:
    """The real plan's resources with bulky but realistic attribute payloads added."""
    source = source_path.read_bytes()
    plan = orjson.loads(source)
    changes = plan["resource_changes"]
    per_resource = max(1, (bytes_goal - len(source)) // max(1, len(changes)))
    rules_per_resource = max(1, per_resource // 220)
    for i, change in enumerate(changes):
        after = change["change"].get("after")
        if not isinstance(after, dict):
            continue
        after["bench_rules"] = [
            {
                "description": f"rule {j} for {change['address']}",
                "from_port": 1000 + j,
                "to_port": 2000 + j,
                "protocol": "tcp",
                "cidr_blocks": [f"10.{i % 250}.{j % 250}.0/24", "192.168.0.0/16"],
                "self": False,
            }
            for j in range(rules_per_resource // 2)
        ]
        after["bench_policy"] = "x" * (per_resource // 2)
        change["change"]["after_unknown"]["bench_rules"] = [{} for _ in range(rules_per_resource // 2)]
    target.write_bytes(orjson.dumps(plan))


def bench_file(path: Path, repeat: int) -> tuple[float, float]:
    size = path.stat().st_size
    print(f"\n{path.name}: {size / 1e6:.1f} MB")
    bare = measure("orjson", [sys.executable, "-c", f"import orjson; orjson.loads(open({str(path)!r}, 'rb').read())"], repeat)
    ours = measure(
        "tollgate",
        [sys.executable, "-m", "tollgate.integrations.cli", "check", str(path), "--format", "json", "--output", os.devnull],
        repeat,
    )
    time_ratio = ours[0] / bare[0]
    rss_ratio = ours[1] / bare[1]
    print(f"  ratio      time {time_ratio:.2f}x (target <= 2x)   peak RSS {rss_ratio:.2f}x (target <= 1x)")
    return time_ratio, rss_ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--synthesize", nargs=2, type=Path, metavar=("SOURCE", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synthesize:
        synthesize_rich_plan(*args.synthesize)
        return 0
    source_path = args.shared / LARGE_PLAN
    if not source_path.exists():
        print(f"skipped: {source_path} not found (the shared corpus is needed for this benchmark)")
        return 0
    # The parent stays small: a forked child's peak RSS starts from the parent's resident pages,
    # so big buffers here would inflate every measurement. Build the inputs in child processes.
    with tempfile.TemporaryDirectory(prefix="tollgate-bench-") as tmp:
        real = Path(tmp) / "large-10k.plan.json"
        with gzip.open(source_path, "rb") as packed, open(real, "wb") as unpacked:
            shutil.copyfileobj(packed, unpacked, 1 << 20)
        rich = Path(tmp) / "synthetic-10k-rich.plan.json"
        subprocess.run([sys.executable, __file__, "--synthesize", str(real), str(rich)], check=True)
        results = {path.name: bench_file(path, args.repeat) for path in (real, rich)}
    print("\nsummary (tollgate / bare orjson.loads, same run):")
    for name, (time_ratio, rss_ratio) in results.items():
        print(f"  {name:<32} time {time_ratio:.2f}x   peak RSS {rss_ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
