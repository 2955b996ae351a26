"""Observed-state benchmarks (SPEC §8), with the goals of the observed-state issue.

    python benchmarks/observed.py match   # 10,000 groups / 100,000 accounts: read, match, join, drift < 10 s
    python benchmarks/observed.py import  # 1,000 changes into a 10,000-file inventory: `checker import` < 30 s

`match` times the pure steps on an in-memory inventory (and, apart, reading the snapshot file);
`import` runs the real command line on a generated inventory and checks that only the files
that change are touched.
"""

from __future__ import annotations

import argparse
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

from checker import snapshot  # noqa: E402
from checker.models import Group, Inventory, Location, Person  # noqa: E402
from checker.observed.drift import drift  # noqa: E402
from checker.observed.join import observed_inventory  # noqa: E402
from checker.observed.match import match  # noqa: E402
from checker.snapshot import Snapshot, SnapshotGroup, SnapshotPerson  # noqa: E402


def org(groups: int, people: int, members: int, seed: int) -> tuple[Inventory, Snapshot]:
    """An inventory and a snapshot of it in which about 1 in 10 groups drifted."""
    rng = random.Random(seed)
    persons = {}
    snap_people = []
    for i in range(people):
        pid = f"p{i}"
        record = {"id": pid, "location": "US", "employment": "employee", "status": "active", "trainings": {}}
        persons[pid] = Person(pid, record, Location("inv/people.yaml", i + 1), {}, f"{pid}@example.com",
                              {"lark": f"ou_{i}"} if i % 3 else {})
        snap_people.append(SnapshotPerson(f"ou_{i}", f"{pid}@example.com", None, "CN" if i % 97 == 0 else "US",
                                          None, "active"))
    snap_people += [SnapshotPerson(f"ou_x{i}", None, None, None, None, None) for i in range(people // 100)]
    inv_groups = {}
    snap_groups = []
    for g in range(groups):
        chosen = rng.sample(range(people), members)
        ids = tuple(f"p{i}" for i in chosen)
        gid = f"g{g}"
        inv_groups[gid] = Group(gid, {"platform": "lark", "kind": "chat", "data_classes": [],
                                      "subject_jurisdictions": []}, ids[0], ids,
                                Location(f"inv/groups/{gid}.yaml", 1), {m: 5 + k for k, m in enumerate(ids)},
                                external_id=f"oc_{g}")
        accounts = [f"ou_{i}" for i in chosen]
        if g % 10 == 0:  # drift: one member gone, one known and one unknown account added
            accounts = [*accounts[1:], f"ou_{rng.randrange(people)}", f"ou_x{rng.randrange(people // 100)}"]
        if g % 1000 != 1:
            snap_groups.append(SnapshotGroup(f"oc_{g}", gid, "chat", accounts[0], tuple(dict.fromkeys(accounts))))
    snap_groups += [SnapshotGroup(f"oc_new{g}", f"new {g}", "chat", "ou_1", ("ou_1", "ou_2")) for g in range(10)]
    snap = Snapshot(1, "lark", "2026-11-29T06:00:00Z", {}, tuple(snap_people), tuple(snap_groups))
    return Inventory(persons, inv_groups, {}), snap


def bench_match(groups: int, people: int, members: int) -> None:
    started = time.perf_counter()
    inv, snap = org(groups, people, members, 1)
    print(f"generated {groups:,} groups, {len(snap.people):,} accounts, "
          f"{sum(len(g.members) for g in snap.groups):,} memberships in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "snap.json"
        snapshot.write(snap, path)
        started = time.perf_counter()
        read = snapshot.read(path)
        read_s = time.perf_counter() - started
        print(f"read + validate the snapshot file ({path.stat().st_size / 1e6:.1f} MB): {read_s:.2f} s")
    started = time.perf_counter()
    matching = match(inv, read, "snap.json")
    joined = observed_inventory(inv, [matching])
    found = drift(inv, [matching])
    pure_s = time.perf_counter() - started
    rules: dict[str, int] = {}
    for finding in found:
        rules[finding.rule] = rules.get(finding.rule, 0) + 1
    print(f"match + join + drift: {pure_s:.2f} s ({len(found):,} drift findings {rules}, "
          f"{len(joined.people):,} people after join)")
    print(f"total (read + match + join + drift): {read_s + pure_s:.2f} s (goal: under 10 s)")


def write_inventory(root: Path, groups: int, people: int, members: int) -> list[list[int]]:
    """The inventory's files, and each group's members (the owner first)."""
    rng = random.Random(2)
    (root / "inventories" / "people").mkdir(parents=True)
    per_file = 1000
    for start in range(0, people, per_file):
        lines = ["people:"]
        for i in range(start, min(people, start + per_file)):
            lines += [f"  - id: p{i}", "    location: US", "    employment: employee",
                      f"    accounts: {{lark: ou_{i}}}"]
        (root / "inventories" / "people" / f"people-{start // per_file:03d}.yaml").write_text("\n".join(lines) + "\n")
    folder = root / "inventories" / "groups" / "lark"
    folder.mkdir(parents=True)
    memberships = []
    for g in range(groups):
        ids = rng.sample(range(people), members)
        memberships.append(ids)
        body = "\n".join(f"      - p{i}" for i in ids)
        (folder / f"g{g:05d}.yaml").write_text(
            f"# group {g}\ngroups:\n  - id: g{g}\n    platform: lark\n    external_id: oc_{g}\n    kind: chat\n"
            f"    owner: p{ids[0]}\n    members:\n{body}\n    data_classes: [internal]\n")
    shutil.copytree(ROOT / "policies", root / "policies")
    return memberships


def bench_import(groups: int, people: int, members: int, changes: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        memberships = write_inventory(root, groups, people, members)
        snap_groups = []
        rng = random.Random(3)
        for index, ids in enumerate(memberships):
            accounts = [f"ou_{i}" for i in ids]
            if index % (groups // changes) == 0:  # a change: the last member left, someone joined
                accounts = [*accounts[:-1], f"ou_{rng.randrange(people)}"]
            snap_groups.append(SnapshotGroup(f"oc_{index}", f"g{index}", "chat", f"ou_{ids[0]}",
                                             tuple(dict.fromkeys(accounts))))
        snap = Snapshot(1, "lark", "2026-11-29T06:00:00Z", {},
                        tuple(SnapshotPerson(f"ou_{i}") for i in range(people)), tuple(snap_groups))
        snapshot.write(snap, root / "snap.json")
        print(f"wrote {groups:,} group files, {people:,} people, a snapshot with {changes:,} changed groups "
              f"in {time.perf_counter() - started:.1f} s")
        before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (root / "inventories").rglob("*.yaml")}
        env = {**os.environ, "PYTHONPATH": str(ROOT), "CHECKER_CACHE_DIR": str(root / "cache"), "CHECKER_TIMINGS": "1"}
        command = [sys.executable, "-m", "checker", "import", "--snapshot", "snap.json"]
        started = time.perf_counter()
        cold = subprocess.run([*command, "--dry-run", "--output", os.devnull, "--no-cache"], cwd=root, env=env,
                              capture_output=True, text=True, check=False)
        print(f"checker import --dry-run, cold (--no-cache): {time.perf_counter() - started:.1f} s "
              f"(exit {cold.returncode})")
        # as in CI with the result cache restored: the files' parses are cached by an earlier run
        subprocess.run([sys.executable, "-m", "checker", "validate"], cwd=root, env=env, capture_output=True,
                       check=False)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"checker import failed ({done.returncode}):\n{done.stderr}")
        after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (root / "inventories").rglob("*.yaml")}
        touched = [p for p in after if before.get(p) != after[p]]
        print(done.stderr.strip().replace("checker: timing: ", "  "))
        print(f"checker import, parse cache warm: {elapsed:.1f} s (goal: under 30 s); files touched: {len(touched):,} "
              f"(expected {changes:,}), new files: {len(set(after) - set(before))}")
        if len(touched) != changes:
            sys.exit("unexpected files touched")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["match", "import"])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20, help="members per group")
    parser.add_argument("--changes", type=int, default=1_000, help="import: groups that change")
    args = parser.parse_args()
    if args.which == "match":
        bench_match(args.groups, args.people, args.members)
    else:
        bench_import(args.groups, args.people, args.members, args.changes)


if __name__ == "__main__":
    main()
