"""Time checker as whole processes on generated organisations and print medians and peak memory.

    python benchmarks/run.py                      # 1,000 and 10,000 groups, 3 runs each
    python benchmarks/run.py --groups 1000 --runs 5
    python benchmarks/run.py --groups 100000 --runs 1   # 300,000 people, ~1.39 M memberships

For each size it generates an org (testing/orggen.py) inside a fresh git repository with the
shipped policies, then times: validate, cold audit (empty cache), warm audit (nothing changed),
warm audit after one group changed, and `checker diff` for a one-group pull request, cold and
with the cache primed by an audit of the base. Every command runs in its own process with the
default --jobs (the number of cores); peak memory is the resident memory of all the command's
processes together (main and workers), sampled every 0.1 s from /proc. Each figure is also shown
as a ratio to OPA's own evaluator over the same joined input, measured in the same run
(benchmarks/opa_reference.py), so the figures mean something on a noisy machine.
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
SAMPLE_EVERY = 0.1  # seconds between memory samples of the command's process tree


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants together (KiB), from /proc.

    Only the tree itself is read (each process's /proc/PID/task/*/children, then its statm): scanning
    every process on the machine ten times a second took a fifth of a core from the command measured."""
    total, frontier, seen = 0, [root], set()
    while frontier:
        pid = frontier.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KIB
            for task in Path(f"/proc/{pid}/task").iterdir():
                frontier.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue  # it ended between two reads
    return total


def measure(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int]:
    """(seconds, peak KiB of all its processes together, exit code) of one checker command."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "checker", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kib(proc.pid))
        time.sleep(SAMPLE_EVERY)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    # Every command runs with --fail-on never, so anything but 0 means it did not run to the end
    # (exit 1 is also what `python -m` gives when checker cannot be imported).
    if proc.returncode != 0:
        raise SystemExit(f"checker {' '.join(args)} failed with exit {proc.returncode}: {stderr[-2000:]}")
    return elapsed, peak, proc.returncode


def opa_reference(repo: Path) -> float | None:
    """Seconds OPA's own evaluator takes over the same joined input (benchmarks/opa_reference.py),
    measured in this run so that the ratios mean something on a noisy machine; None without it."""
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("opa_reference.py")), str(repo)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"  (no OPA reference: {(proc.stderr or proc.stdout).strip()[-300:]})")
        return None
    return float(proc.stdout.split()[-1])


def cache_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("cache.sqlite3*")) / 2**20 if folder.exists() else 0.0


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
    opa = opa_reference(repo)
    if opa is not None:
        print(f"  {'OPA evaluator, same input (yardstick)':<38} {opa:8.2f} s")
    # The commands run in the generated repository: make this checkout's checker the one imported.
    base_env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
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
        median = statistics.median(times)
        rows.append((name, median, max(peaks)))
        ratio = f"{median / opa:6.2f}x OPA" if opa else "   n/a    "
        print(f"  {name:<38} {median:8.2f} s  {ratio}   peak {max(peaks) / 1024:6.0f} MiB (all processes)"
              f"   ({', '.join(f'{t:.2f}' for t in times)})", flush=True)

    bench("validate (cold)", ["validate"], fresh_cache=True)
    bench("audit, cold (empty cache)", audit, fresh_cache=True)
    shared = {**base_env, "CHECKER_CACHE_DIR": str(folder / "cache")}
    measure(audit, repo, shared)  # prime the shared cache
    print(f"  {'cache after one audit':<38} {cache_mib(folder / 'cache'):8.1f} MiB")
    bench("audit, warm (nothing changed)", audit)
    changed = change_one_group(repo)
    bench("audit, warm (one group changed)", audit)
    git(repo, "checkout", "-q", "-b", "pr")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"add a member to {changed.name}")
    diff = ["diff", "--base", "main", "--as-of", AS_OF, "--format", "json", "--fail-on", "never"]
    github = ["diff", "--base", "main", "--as-of", AS_OF, "--format", "github", "--fail-on", "never"]
    bench("diff, one group (cold cache)", diff, fresh_cache=True)
    bench("diff, one group, github (cold cache)", github, fresh_cache=True)
    bench("diff, one group (cache primed)", diff)
    print(f"  {'cache at the end':<38} {cache_mib(folder / 'cache'):8.1f} MiB")
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
