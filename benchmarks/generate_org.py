"""Write a synthetic organisation for benchmarks.

    python benchmarks/generate_org.py OUT_DIR --groups 10000 --seed 1

Then audit it with `checker audit --inventories OUT_DIR --as-of 2026-11-29` (the generator's
dates are relative to that day).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as a script from anywhere: make the repository root importable for `testing`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.orggen import build_org


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out_dir", type=Path, help="folder to write the inventory into (created if missing)")
    parser.add_argument("--groups", type=int, default=10_000, help="number of groups (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--people-per-group", type=int, default=3, help="people = groups x this (default 3)")
    parser.add_argument(
        "--people-per-file", type=int, default=1000, help="people per YAML file (default 1000)"
    )
    parser.add_argument("--no-waivers", action="store_true", help="do not write waivers.yaml")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.out_dir.exists() and any(args.out_dir.iterdir()):
        # Stale files from a bigger run would silently join the inventory.
        print(f"error: {args.out_dir} is not empty", file=sys.stderr)
        return 2
    started = time.perf_counter()
    stats = build_org(
        args.out_dir,
        args.groups,
        args.seed,
        people_per_group=args.people_per_group,
        people_per_file=args.people_per_file,
        waivers=not args.no_waivers,
    )
    elapsed = time.perf_counter() - started
    print(
        f"wrote {stats.groups} groups, {stats.people} people, {stats.memberships} memberships, "
        f"{stats.waivers} waivers to {args.out_dir} in {elapsed:.2f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
