"""Time the SARIF report of a 100,000-finding audit and measure it against GitHub's upload limits.

    python benchmarks/sarif_report.py [--findings 100000] [--max-results 5000]

Builds a RunResult like a large audit's (deny, warn and waived findings across many groups and
files, with the pack's rules), writes it with the real reporter through `checker.commands.emit`
(the same path as `checker audit --format sarif --output FILE`), and prints the time of the report
step, the file's size and its gzip size. Goals (issue 10): under 5 s and under 10 MB gzipped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from checker import pipeline
from checker.commands import emit
from checker.commands.options import Options
from checker.models import Engine, Finding, Location, RunResult

RULES = ("member-location", "owner-location", "sensitive-group-size", "training-expired", "non-employee-access")


def synthetic(count: int) -> RunResult:
    rules = pipeline.load_policies(Path(__file__).resolve().parent.parent / "policies").rules
    findings = []
    for i in range(count):
        rule = RULES[i % len(RULES)]
        level = "warn" if rule == "training-expired" else "deny"
        group = f"slack-team-{i // 10:05d}"
        findings.append(Finding(rule, level, group, f"person.{i:06d}",
                                f"member person.{i:06d} of group {group} works from SG, outside US",
                                Location(f"inventories/groups/slack/team-{i // 10:05d}.yaml", 4 + i % 10),
                                waived=i % 11 == 0, waiver=f"w-{i:06d}" if i % 11 == 0 else None))
    findings.sort(key=lambda f: f.sort_key)
    return RunResult("audit", "2026-11-29", Engine("embedded", "bench"), count // 10, count, tuple(findings), rules)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--max-results", type=int, default=5_000)
    args = parser.parse_args(argv)
    result = synthetic(args.findings)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "checker.sarif"
        options = Options(Path("inventories"), Path("policies"), "2026-11-29", "embedded", (), None, "sarif",
                          str(out), "deny", 1, False, sarif_max_results=args.max_results)
        start = time.perf_counter()
        emit(options, result)
        seconds = time.perf_counter() - start
        data = out.read_bytes()
    packed = len(gzip.compress(data))
    run = json.loads(data)["runs"][0]
    print(f"{args.findings} findings, --sarif-max-results {args.max_results}: {len(run['results'])} results, "
          f"report {seconds:.2f} s, {len(data) / 1e6:.1f} MB, {packed / 1e6:.2f} MB gzipped")
    return 0 if seconds < 5 and packed < 10_000_000 else 1


if __name__ == "__main__":
    sys.exit(main())
