"""How fast the pre-commit path is, as ratios measured in one run on this machine.

    python bench/precommit_speed.py [--repeat 5] [--shared ../shared]

1. The hook (`tollgate check --hook FILES`) on a realistic change — 20 .tf files and 50 manifests
   from the shared corpus — against `python3 -c pass`: cold (empty parse cache) and warm (nothing
   changed since the last run). Targets (issue #4): cold < 20x, warm < 10x.
2. `tollgate check` on a 1,000-document manifest file against Checkov on the same file, when
   Checkov is installed (on PATH, or its executable in $CHECKOV, e.g. from its own virtualenv).
   Target: >= 20x faster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POLICY = """version: 1
extends: [builtin:finops-baseline, builtin:gpu-guardrails]
cluster:
  provider: aws
  region: us-east-1
  node_pools:
    - {name: gpu, instance_types: [g5.12xlarge], capacity: on_demand}
    - {name: general, instance_types: [m6i.2xlarge], capacity: on_demand}
"""

JOB = """---
apiVersion: batch/v1
kind: Job
metadata:
  name: train-{i}
  namespace: ml
  labels: {{team: ml, cost-center: CC-{i:04d}}}
spec:
  parallelism: {parallel}
  template:
    spec:
      nodeSelector: {{node.kubernetes.io/instance-type: g5.12xlarge}}
      containers:
        - name: trainer
          image: trainer:{i}
          resources:
            requests: {{cpu: "8", memory: 32Gi}}
            limits: {{nvidia.com/gpu: {gpus}}}
      restartPolicy: Never
"""

DEPLOYMENT = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api-{i}
  namespace: web
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: api-{i}}}}}
  template:
    metadata: {{labels: {{app: api-{i}}}}}
    spec:
      containers:
        - name: api
          image: api:{i}
          resources:
            requests: {{cpu: 500m, memory: 1Gi}}
"""


def timed(command: list[str], env: dict[str, str], cwd: Path, accept: tuple[int, ...] = (0, 1), ours: bool = True) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    stderr = result.stderr.decode(errors="replace")
    # Exit 1 is a legitimate verdict (blocking findings) but not when the program never ran.
    if result.returncode not in accept or (ours and ("Traceback" in stderr or "No module named" in stderr)):
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{stderr[-2000:]}")
    return elapsed


def realistic_change(shared: Path, target: Path) -> list[str]:
    """20 .tf files (whole module directories, as a hook sees them) and 50 manifests."""
    tf_files: list[Path] = []
    for directory in sorted((shared / "corpus" / "terraform-hcl").glob("*/*")):
        files = sorted(directory.rglob("*.tf"))
        if len(tf_files) + len(files) > 20:
            continue
        copy = target / "terraform" / directory.parent.name / directory.name
        shutil.copytree(directory, copy)
        tf_files += [copy / f.relative_to(directory) for f in files]
    manifests = sorted((shared / "corpus" / "k8s").rglob("*.yaml"))[:50]
    (target / "k8s").mkdir()
    copies = []
    for index, manifest in enumerate(manifests):
        copy = target / "k8s" / f"{index:02d}-{manifest.name}"
        shutil.copyfile(manifest, copy)
        copies.append(copy)
    (target / "tollgate.yaml").write_text(POLICY)
    return [str(p.relative_to(target)) for p in tf_files + copies]


def thousand_documents(path: Path) -> None:
    with open(path, "w") as handle:
        for i in range(1000):
            if i % 2:
                handle.write(JOB.format(i=i, parallel=1 + i % 4, gpus=1 + i % 4))
            else:
                handle.write(DEPLOYMENT.format(i=i, replicas=1 + i % 5))


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = parser.parse_args()
    if not (args.shared / "corpus").exists():
        print(f"skipped: {args.shared}/corpus not found (the shared corpus is needed for this benchmark)")
        return 0
    tollgate = [sys.executable, "-m", "tollgate.integrations.cli"]
    with tempfile.TemporaryDirectory(prefix="tollgate-precommit-") as tmp:
        work = Path(tmp) / "repo"
        work.mkdir()
        files = realistic_change(args.shared, work)
        env = dict(os.environ)
        # As installed by pip or pre-commit, modules have bytecode caches; a development shell may
        # disable them (PYTHONDONTWRITEBYTECODE), which would time the compiler, not Tollgate.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        timed([*tollgate, "check", "--hook", *files], dict(env, TOLLGATE_NO_CACHE="1"), work)  # writes bytecode
        env_warm = dict(env, TOLLGATE_CACHE_DIR=str(Path(tmp) / "cache-warm"))
        timed([*tollgate, "check", "--hook", *files], env_warm, work)  # fills the cache
        # Round-robin, not one series after another: this machine's speed drifts by tens of
        # percent within a minute, and each ratio should compare runs made under the same drift.
        bare: list[float] = []
        cold: list[float] = []
        warm: list[float] = []
        for run in range(args.repeat):
            bare.append(timed([sys.executable, "-c", "pass"], env, work))
            env_cold = dict(env, TOLLGATE_CACHE_DIR=str(Path(tmp) / f"cache-cold-{run}"))
            cold.append(timed([*tollgate, "check", "--hook", *files], env_cold, work))
            warm.append(timed([*tollgate, "check", "--hook", *files], env_warm, work))

        n_tf = sum(f.endswith(".tf") for f in files)
        print(f"hook on a change of {n_tf} .tf files + {len(files) - n_tf} manifests (median of {args.repeat}, interleaved):")
        print(f"  python3 -c pass        {median(bare):7.3f} s")
        print(f"  hook, cold cache       {median(cold):7.3f} s   {median(cold) / median(bare):5.1f}x  (target < 20x)")
        print(f"  hook, nothing changed  {median(warm):7.3f} s   {median(warm) / median(bare):5.1f}x  (target < 10x)")

        big = Path(tmp) / "thousand.yaml"
        thousand_documents(big)
        env_nocache = dict(env, TOLLGATE_NO_CACHE="1")
        ours_command = [*tollgate, "check", str(big), "--format", "json", "--output", os.devnull, "--config", str(work / "tollgate.yaml")]
        checkov = os.environ.get("CHECKOV") or shutil.which("checkov")
        checkov_command = [str(checkov), "-f", str(big), "--framework", "kubernetes", "--quiet", "--compact", "--skip-download"]
        checkov_runs = max(1, args.repeat // 2) if checkov else 0
        ours: list[float] = []
        theirs: list[float] = []
        for run in range(args.repeat):
            ours.append(timed(ours_command, env_nocache, work))
            if run < checkov_runs:
                theirs.append(timed(checkov_command, env, work, accept=(0, 1), ours=False))
        print(f"\n1,000-document manifest file: tollgate check {median(ours):.3f} s")
        if theirs:
            print(f"  checkov                {median(theirs):.3f} s   tollgate is {median(theirs) / median(ours):.1f}x faster (target >= 20x)")
        else:
            print("  checkov is not installed here: no Checkov ratio this run (pip install checkov to measure it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
