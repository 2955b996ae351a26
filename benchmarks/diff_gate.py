"""Time the pull-request gate: `checker diff --format github` for a one-group change (issue 12).

    python benchmarks/diff_gate.py --groups 10000                 # generate an org, then time it
    python benchmarks/diff_gate.py --repo /tmp/org-10000 --opa    # an org with branches main and pr

The org is generated as benchmarks/run.py does (one member added to one group on branch `pr`), or
taken as it is: a repository whose branch `pr` is checked out and `main` is its base. Three runs of
the same command, each in its own process: without a cache (--no-cache), with an empty cache, and
with the cache that run left (primed: every blob parsed, the changed group evaluated). Wall and
CPU seconds, peak memory, and with --opa the ratio to OPA's own evaluator over the whole org
(benchmarks/opa_reference.py), measured in the same run. The goals: with an empty cache at most
0.25x OPA's evaluator; primed, under 5 s at 100,000 groups.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import AS_OF, ROOT, change_one_group, git, make_repo, measure, opa_reference

GATE = ["diff", "--base", "main", "--as-of", AS_OF, "--format", "github", "--fail-on", "never"]


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def prepare(folder: Path, groups: int, seed: int) -> Path:
    repo = make_repo(folder, groups, seed)
    git(repo, "checkout", "-q", "-b", "pr")
    changed = change_one_group(repo)
    git(repo, "commit", "-qam", f"add a member to {changed.name}")
    return repo


def run(repo: Path, cache: Path, with_opa: bool) -> None:
    opa = opa_reference(repo) if with_opa else None
    if opa is not None:
        print(f"  {'OPA evaluator, whole org (yardstick)':<34} {opa:8.2f} s")
    env = {**os.environ, "CHECKER_CACHE_DIR": str(cache),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for name, extra in (("github diff, --no-cache", ["--no-cache"]), ("github diff, empty cache", []),
                        ("github diff, cache primed", [])):
        before = child_cpu()
        seconds, peak, _ = measure([*GATE, *extra], repo, env)
        cpu = child_cpu() - before
        ratio = f"  {seconds / opa:5.2f}x OPA" if opa else ""
        print(f"  {name:<34} {seconds:8.2f} s wall {cpu:8.2f} s cpu  peak {peak / 1024:6.0f} MiB{ratio}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, help="generate an org of this many groups")
    parser.add_argument("--repo", type=Path, help="an existing org repository (branch pr checked out, base main)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--opa", action="store_true", help="also time OPA's evaluator, for ratios")
    args = parser.parse_args()
    if (args.groups is None) == (args.repo is None):
        parser.error("give --groups or --repo")
    with tempfile.TemporaryDirectory(prefix="checker-diff-gate-") as scratch:
        folder = args.keep or Path(scratch)
        repo = args.repo or prepare(folder, args.groups, args.seed)
        run(repo, Path(scratch) / "cache", args.opa)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
