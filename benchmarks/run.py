"""Time checker as whole processes on generated organisations and print medians and peak memory.

    python benchmarks/run.py                      # 1,000 and 10,000 groups, 3 runs each
    python benchmarks/run.py --groups 1000 --runs 5

For each size it generates an org (testing/orggen.py) inside a fresh git repository with the
shipped policies, then times: validate, cold audit (empty cache), warm audit (nothing changed),
warm audit after one group changed, and `checker diff` for a one-group pull request, cold and
with the cache primed by an audit of the base. Every command runs in its own process with the
default --jobs (the number of cores); peak memory is the largest resident set of the command's
processes (the main one or a worker), from getrusage.
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.orggen import build_org  # noqa: E402

AS_OF = "2026-11-29"
_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "elapsed = time.perf_counter() - start\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'{elapsed} {peak} {code}')\n"
)


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def measure(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int]:
    """(seconds, peak KiB, exit code) of one checker command in its own process."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "checker", *args],
                         cwd=cwd, env=env, capture_output=True, text=True, check=True)
    seconds, peak, code = out.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"checker {' '.join(args)} failed with exit {code}")
    return float(seconds), int(peak), int(code)


def make_repo(folder: Path, groups: int, seed: int) -> Path:
    repo = folder / f"org-{groups}"
    stats = build_org(repo / "inventories", groups, seed)
    shutil.copytree(ROOT / "policies", repo / "policies")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "org")
    print(f"  generated {groups:,} groups, {stats.people:,} people, {stats.memberships:,} memberships")
    return repo


def change_one_group(repo: Path) -> Path:
    """Add a member to one group file (in the working tree)."""
    path = sorted((repo / "inventories" / "groups").rglob("*.yaml"))[len(groups_of(repo)) // 2]
    people = sorted((repo / "inventories" / "people").glob("*.yaml"))[0].read_text()
    newcomer = people.split("- id: ", 2)[1].split("\n", 1)[0].strip()
    text = path.read_text()
    marker = "    members:\n"
    if marker in text:
        text = text.replace(marker, f"{marker}      - {newcomer}\n", 1)
    else:
        text = text.replace("members: [", f"members: [{newcomer}, ", 1)
    path.write_text(text)
    return path


def groups_of(repo: Path) -> list[Path]:
    return list((repo / "inventories" / "groups").rglob("*.yaml"))


def run_size(folder: Path, groups: int, runs: int, seed: int) -> list[tuple[str, float, int]]:
    print(f"{groups:,} groups:")
    repo = make_repo(folder, groups, seed)
    base_env = {**os.environ}
    audit = ["audit", "--as-of", AS_OF, "--format", "json", "--fail-on", "never"]
    rows = []

    def bench(name: str, args: list[str], before: Callable[[dict[str, str]], None] | None = None,
              fresh_cache: bool = False) -> None:
        times, peaks = [], []
        for i in range(runs):
            cache = folder / f"cache-{groups}-{name.replace(' ', '-')}-{i}" if fresh_cache else folder / "cache"
            env = {**base_env, "CHECKER_CACHE_DIR": str(cache)}
            if before:
                before(env)
            seconds, peak, _ = measure(args, repo, env)
            times.append(seconds)
            peaks.append(peak)
        rows.append((name, statistics.median(times), max(peaks)))
        print(f"  {name:<38} median {statistics.median(times):6.2f} s   peak {max(peaks) / 1024:6.0f} MiB"
              f"   ({', '.join(f'{t:.2f}' for t in times)})")

    bench("validate (cold)", ["validate"], fresh_cache=True)
    bench("audit, cold (empty cache)", audit, fresh_cache=True)
    shared = {**base_env, "CHECKER_CACHE_DIR": str(folder / "cache")}
    measure(audit, repo, shared)  # prime the shared cache
    bench("audit, warm (nothing changed)", audit)
    changed = change_one_group(repo)
    bench("audit, warm (one group changed)", audit)
    git(repo, "checkout", "-q", "-b", "pr")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"add a member to {changed.name}")
    diff = ["diff", "--base", "main", "--as-of", AS_OF, "--format", "json", "--fail-on", "never"]
    bench("diff, one group (cold cache)", diff, fresh_cache=True)
    bench("diff, one group (cache primed)", diff)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, action="append", help="org sizes (default 1000 and 10000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    sizes = args.groups or [1000, 10000]
    print(f"checker benchmark: {os.cpu_count()} cores, python {sys.version.split()[0]}, as of {AS_OF}")
    started = time.perf_counter()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            run_size(args.keep, size, args.runs, args.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="checker-bench-") as tmp:
            for size in sizes:
                run_size(Path(tmp), size, args.runs, args.seed)
    print(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
