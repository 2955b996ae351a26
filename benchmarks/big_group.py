"""Time one big group, every member non-compliant, on the embedded engine and on OPA's evaluator
(and check that both give the same answer: exit 1 if not).

    python benchmarks/big_group.py 500 1000 2000
    python benchmarks/big_group.py --jobs 2 4000 50000

Each member breaks four member-level rules (location, departed, non-employee, no training), so
the group's findings grow with its size. The figures show how a group's cost grows when it
doubles (the goal: at most ~2.2x, and a 50,000-member group under 10 s). Besides wall time they
give CPU seconds in all, those of the busiest worker (about the wall time on otherwise idle cores,
and what the growth factor compares) and the largest peak memory of a worker so far. --jobs N runs
N workers, as `checker --jobs N` does (default 1): with 2 or more, a group of 2,000 members or
more is split across them by rule family (checker/engines/embedded_split.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checker import policies  # noqa: E402
from checker.engines import EngineOptions, make_engine  # noqa: E402
from testing import real_opa  # noqa: E402


def big_group(size: int) -> dict[str, Any]:
    owner = {"id": "owner", "location": "US", "employment": "employee", "status": "active",
             "trainings": {"privacy": "2026-06-01"}}
    members = [owner] + [{"id": f"p{i:06d}", "location": "CN", "employment": "contractor", "status": "departed",
                          "trainings": {}} for i in range(size)]
    return {"as_of": "2026-11-29", "group": {"id": "big", "platform": "slack", "kind": "channel",
                                             "data_classes": ["government_id", "user_pii"],
                                             "subject_jurisdictions": ["US"], "description": "benchmark",
                                             "owner": owner, "members": members}}


def cpu_seconds() -> dict[int, float]:
    """pid -> CPU seconds so far, of this process (0) and its live children (the engine's workers;
    Linux /proc): figures that mean something on a shared machine, where wall time does not."""
    seconds = {0: time.process_time()}
    for child in multiprocessing.active_children():
        try:
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[child.pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def peak_mib(pids: Iterable[int]) -> float:
    """The largest peak resident set among these processes, in their lifetime so far (Linux /proc)."""
    peak = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        peak = max([peak] + [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")])
    return peak / 1024


def as_sets(raw: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Each family's levels as sorted JSON texts: sets from both engines, order not part of them."""
    return {rule: {level: sorted(json.dumps(e, sort_keys=True) for e in elements) for level, elements in levels.items()}
            for rule, levels in raw.items()}


def main(sizes: list[int], jobs: int) -> None:
    policy_set = policies.load_dir(ROOT / "policies")
    engine = make_engine("embedded", policy_set, EngineOptions(jobs=jobs))
    opa = real_opa.RealOpa(policy_set) if real_opa.available() else None
    previous = None
    try:
        engine.evaluate([("warm-up", big_group(1))])  # start the workers: time the group, not the start
        for size in sizes:
            document = big_group(size)
            started, before = time.perf_counter(), cpu_seconds()
            raw = engine.evaluate([("big", document)])["big"]
            embedded, after = time.perf_counter() - started, cpu_seconds()
            spent = {pid: seconds - before.get(pid, 0.0) for pid, seconds in after.items()}
            memory = peak_mib(pid for pid, seconds in spent.items() if pid and seconds)  # OPA's process idled
            busiest = max(seconds for pid, seconds in spent.items() if pid)
            findings = sum(len(elements) for levels in raw.values() for elements in levels.values())
            shown = (f"{size:>7,} members  {findings:>7,} findings  embedded {embedded:7.2f} s wall, "
                     f"cpu {sum(spent.values()):6.2f} s, busiest worker {busiest:6.2f} s, {memory:6,.0f} MiB")
            if previous is not None:
                shown += f" ({busiest / previous:4.1f}x the previous size)"
            previous = busiest
            if opa is not None:
                started = time.perf_counter()
                theirs = opa.evaluate([("big", document)])["big"]
                shown += f"   OPA evaluator {time.perf_counter() - started:6.2f} s"
                if as_sets(raw) != as_sets(theirs):
                    print(shown, flush=True)
                    raise SystemExit(f"the embedded engine's answer for {size:,} members differs from OPA's")
                shown += ", same answer"
            print(shown, flush=True)
    finally:
        engine.close()
        if opa is not None:
            opa.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="embedded engine workers (default 1)")
    parser.add_argument("sizes", type=int, nargs="*", default=[250, 500, 1000], help="members per group")
    arguments = parser.parse_args()
    main(arguments.sizes, max(1, arguments.jobs))
