"""Time `checker audit --history 90d` on a generated repository with one commit a day for 90 days.

    python benchmarks/history.py --groups 1000 --days 90

Each daily commit changes a few groups (a member added or removed), the way an inventory
repository moves; commit dates are set so that each day has its own sample.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.orggen import build_org  # noqa: E402

TODAY = dt.date(2026, 11, 29)


def git(repo: Path, *args: str, when: dt.datetime | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def daily_change(repo: Path, rng: random.Random, people: list[str], per_day: int) -> None:
    files = sorted((repo / "inventories" / "groups").rglob("*.yaml"))
    for path in rng.sample(files, per_day):
        text = path.read_text()
        newcomer = rng.choice(people)
        while f" {newcomer}\n" in text or f"[{newcomer}," in text or f" {newcomer}," in text \
                or f" {newcomer}]" in text or f"[{newcomer}]" in text:
            newcomer = rng.choice(people)  # a member listed twice would not validate
        if "    members:\n" in text:
            text = text.replace("    members:\n", f"    members:\n      - {newcomer}\n", 1)
        elif "members: [" in text:
            text = text.replace("members: [", f"members: [{newcomer}, ", 1)
        path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--changes-per-day", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="checker-history-") as tmp:
        repo = Path(tmp) / "repo"
        build_org(repo / "inventories", args.groups, args.seed)
        shutil.copytree(ROOT / "policies", repo / "policies")
        people = [line.split("- id: ", 1)[1].strip()
                  for path in sorted((repo / "inventories" / "people").glob("*.yaml"))
                  for line in path.read_text().splitlines() if line.startswith("  - id: ")]
        git(repo, "init", "-q", "-b", "main")
        start = dt.datetime.combine(TODAY - dt.timedelta(days=args.days), dt.time(12), dt.UTC)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "org", when=start)
        made = time.perf_counter()
        for day in range(1, args.days):
            daily_change(repo, rng, people, args.changes_per_day)
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "--allow-empty", "-m", f"day {day}", when=start + dt.timedelta(days=day))
        print(f"{args.groups:,} groups, {args.days} daily commits made in {time.perf_counter() - made:.0f} s")
        for label, cache in (("cold cache", Path(tmp) / "cache-cold"), ("warm cache", Path(tmp) / "cache-cold")):
            env = {**os.environ, "CHECKER_CACHE_DIR": str(cache)}
            began = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "checker", "audit", "--history", f"{args.days}d",
                                   "--as-of", TODAY.isoformat(), "--format", "json", "--fail-on", "never"],
                                  cwd=repo, env=env, capture_output=True, text=True, check=False)
            took = time.perf_counter() - began
            if proc.returncode != 0:
                print(proc.stderr)
                return 1
            import json

            doc = json.loads(proc.stdout)
            print(f"audit --history {args.days}d ({label}): {took:.1f} s, {len(doc['history'])} samples, "
                  f"{len(doc['history_changes'])} findings opened or closed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
