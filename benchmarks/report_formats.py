"""Time a warm `checker audit` per report format, whole processes, on a generated organisation.

    python benchmarks/report_formats.py                    # 10,000 groups; json and table
    python benchmarks/report_formats.py --groups 1000 --formats json table html --runs 5

The org (testing/orggen.py) is written to a temporary folder and audited once to fill a private
cache; then each format runs --runs times, warm, writing to a file with COLUMNS set (so the table
wraps its messages as it would on that terminal). Prints the median wall time of the process and
the median of its "report" phase (CHECKER_TIMINGS=1), which is where the formats differ.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testing.orggen import build_org  # noqa: E402

AS_OF = "2026-11-29"
REPORT_PHASE = re.compile(r"checker: timing: report \(\w+\): ([0-9.]+) s")


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(process seconds, report phase seconds) of one checker command."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "checker", *args], env=env, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"checker {' '.join(args)} failed with exit {proc.returncode}:\n{proc.stderr}")
    phase = REPORT_PHASE.search(proc.stderr)
    return elapsed, float(phase.group(1)) if phase else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--columns", type=int, default=120)
    parser.add_argument("--formats", nargs="+", default=["json", "table"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="checker-report-bench-") as tmp:
        folder = Path(tmp)
        build_org(folder / "inventories", args.groups, args.seed)
        env = {**os.environ, "CHECKER_CACHE_DIR": str(folder / "cache"), "CHECKER_TIMINGS": "1",
               "COLUMNS": str(args.columns), "PYTHONPATH": str(ROOT)}
        common = ["audit", "--inventories", str(folder / "inventories"), "--policies", str(ROOT / "policies"),
                  "--as-of", AS_OF]
        run([*common, "--format", "json", "--output", str(folder / "prime.json")], env)  # fills the cache
        print(f"{args.groups:,} groups, warm audit, COLUMNS={args.columns}, median of {args.runs}:")
        for fmt in args.formats:
            times = [run([*common, "--format", fmt, "--output", str(folder / f"out.{fmt}")], env)
                     for _ in range(args.runs)]
            size = (folder / f"out.{fmt}").stat().st_size
            print(f"  {fmt:6} process {statistics.median(t[0] for t in times):6.2f} s, "
                  f"report {statistics.median(t[1] for t in times):5.2f} s, {size / 1e6:5.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
