"""The result cache: keyed by exactly what a group's input is joined from, never trusted when damaged."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from checker import pipeline, policies
from checker.cache import Cache, NoCache
from checker.engines import EngineOptions, PolicyEngine, RawResult, make_engine
from checker.models import Inventory, Person
from tests.conftest import ROOT, run_checker

POLICY_SET = policies.load_dir(ROOT / "policies", "policies")
AS_OF = "2026-11-29"


class CountingEngine:
    """The real embedded engine, recording which groups it was asked to evaluate."""

    def __init__(self, engine: PolicyEngine) -> None:
        self.engine = engine
        self.info = engine.info
        self.asked: list[str] = []

    def evaluate(self, inputs: Sequence[tuple[str, Mapping[str, Any]]], scope: str = "group"
                 ) -> dict[str, RawResult]:
        self.asked += [key for key, _ in inputs]
        return self.engine.evaluate(inputs, scope)

    def close(self) -> None:
        self.engine.close()


@pytest.fixture(scope="module")
def engine() -> Iterator[CountingEngine]:
    counting = CountingEngine(make_engine("embedded", POLICY_SET, EngineOptions(jobs=1)))
    yield counting
    counting.close()


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return pipeline.load_inventory(ROOT / "inventories", POLICY_SET, "inventories")


def moved(inv: Inventory, person_id: str, location: str) -> Inventory:
    person = inv.people[person_id]
    record = {**person.record, "location": location}
    people = {**inv.people, person_id: dataclasses.replace(person, record=record)}
    return dataclasses.replace(inv, people=people)


def run(engine: CountingEngine, inv: Inventory, cache: Cache) -> dict[str, RawResult]:
    engine.asked.clear()
    return pipeline.evaluate_groups(lambda: engine, inv, AS_OF, "policy-key", cache)


def test_a_person_change_re_evaluates_exactly_their_groups(tmp_path: Path, engine: CountingEngine,
                                                           inv: Inventory) -> None:
    cache = Cache(tmp_path)
    first = run(engine, inv, cache)
    assert sorted(engine.asked) == sorted(inv.groups)
    assert run(engine, inv, cache) == first and engine.asked == []  # warm: nothing evaluated

    person = "li.wei" if "li.wei" in inv.people else next(iter(inv.people))
    theirs = sorted(g.id for g in inv.groups.values() if person in g.members)
    assert 0 < len(theirs) < len(inv.groups)
    changed = moved(inv, person, "BR")
    run(engine, changed, cache)
    assert sorted(engine.asked) == theirs


def test_keys_change_with_policies_and_date(inv: Inventory) -> None:
    ids = sorted(inv.groups)
    base = pipeline.input_keys(inv, AS_OF, "policies-1", ids)
    assert base == pipeline.input_keys(inv, AS_OF, "policies-1", ids)
    assert not set(base.values()) & set(pipeline.input_keys(inv, AS_OF, "policies-2", ids).values())
    assert not set(base.values()) & set(pipeline.input_keys(inv, "2026-11-30", "policies-1", ids).values())


def test_a_person_not_in_any_group_changes_no_key(inv: Inventory) -> None:
    ids = sorted(inv.groups)
    lonely = Person("nobody.here", {"id": "nobody.here", "location": "US", "employment": "employee",
                                    "status": "active", "trainings": {}}, inv.people[next(iter(inv.people))].location)
    more = dataclasses.replace(inv, people={**inv.people, lonely.id: lonely})
    assert pipeline.input_keys(inv, AS_OF, "k", ids) == pipeline.input_keys(more, AS_OF, "k", ids)


def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path: Path, engine: CountingEngine, inv: Inventory) -> None:
    cache = Cache(tmp_path)
    first = run(engine, inv, cache)
    cache.close()
    db = sqlite3.connect(tmp_path / "cache.sqlite3")
    victim = db.execute("SELECT key FROM entries WHERE space = 'result' LIMIT 1").fetchone()[0]
    db.execute("UPDATE entries SET value = ? WHERE key = ?", (b'{"owner-location": {"deny": []}}', victim))
    db.commit()
    db.close()
    cache = Cache(tmp_path)
    assert run(engine, inv, cache) == first
    assert len(engine.asked) == 1  # only the damaged one was evaluated again
    assert run(engine, inv, cache) == first and engine.asked == []  # and it was rewritten


def test_a_corrupted_cache_file_is_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    env = {"CHECKER_CACHE_DIR": str(folder)}
    args = ("audit", "--as-of", AS_OF, "--format", "json")
    clean = run_checker(*args, "--no-cache")
    assert run_checker(*args, env=env).stdout == clean.stdout
    for name in ("cache.sqlite3", "cache.sqlite3-wal"):
        path = folder / name
        if path.exists():
            path.write_bytes(b"\0garbage, not a database" * 100)
    again = run_checker(*args, env=env)
    assert again.returncode == clean.returncode and again.stdout == clean.stdout


def test_no_cache_remembers_nothing() -> None:
    cache = NoCache()
    cache.put_marshal("result", {"k": {"a": 1}})
    assert cache.get_marshal("result", ["k"]) == {}


def test_entries_of_another_checker_version_are_dropped_when_opened(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from checker import cache as cache_module

    monkeypatch.setattr(cache_module, "FORMAT", "checker-cache-3-older-version")
    old = Cache(tmp_path)
    old.put_many("result", {f"k{i}": b"x" * 1000 for i in range(200)})
    old.close()
    size_before = (tmp_path / "cache.sqlite3").stat().st_size
    monkeypatch.undo()
    current = Cache(tmp_path)
    try:
        assert current.get_many("result", [f"k{i}" for i in range(200)]) == {}
        assert current.size() < size_before
        current.put_many("result", {"mine": b"y"})
    finally:
        current.close()
    again = Cache(tmp_path)  # the same version: kept
    try:
        assert again.get_many("result", ["mine"]) == {"mine": b"y"}
    finally:
        again.close()


def test_prune_drops_old_entries_and_keeps_new_ones(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put_many("result", {"old": b"1", "new": b"2"})
    cache.close()
    with sqlite3.connect(tmp_path / "cache.sqlite3") as db:
        db.execute("UPDATE entries SET stamp = ? WHERE key = 'old'", (int(time.time()) - 40 * 86400,))
    cache = Cache(tmp_path)
    try:
        removed, size = cache.prune(30)
        assert removed == 1 and size > 0
        assert cache.get_many("result", ["old", "new"]) == {"new": b"2"}
    finally:
        cache.close()


def test_the_cache_prune_command(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    cache = Cache(folder)
    cache.put_many("result", {"a": b"1"})
    cache.close()
    proc = run_checker("cache", "prune", "--older-than", "0", env={"CHECKER_CACHE_DIR": str(folder)})
    assert proc.returncode == 0, proc.stderr
    assert "removed 1 entries older than 0 days" in proc.stdout
    empty = run_checker("cache", "prune", env={"CHECKER_CACHE_DIR": str(tmp_path / "none")})
    assert empty.returncode == 0 and "no cache at" in empty.stdout


def test_files_an_audit_parsed_serve_a_diff_without_reading_git(tmp_path: Path) -> None:
    """Parsed files are keyed by path and git blob id on both paths: the first diff after an audit
    of the base neither reads nor parses its files again (only the changed ones)."""
    from checker.git_objects import blob_id
    from checker.inventory import SourceFile

    sources = [SourceFile(f"inventories/people-{n}.yaml",
                          f"people:\n  - id: p{n}\n    location: US\n    employment: employee\n".encode())
               for n in range(3)]
    cache = Cache(tmp_path / "cache")
    audited = pipeline.parse_sources(sources, cache, jobs=1)
    asked: list[str] = []

    def read(shas: Any) -> Mapping[str, bytes]:
        asked.extend(shas)
        return {}

    entries = [(s.path, blob_id(s.data)) for s in sources]
    assert pipeline.parse_blobs(entries, read, cache, jobs=1) == audited
    assert asked == []
    cache.close()


def test_an_audit_takes_no_parsed_entry_made_from_other_bytes_under_its_blob_id(tmp_path: Path) -> None:
    """Blob ids are SHA-1 (without git's collision detection when an audit computes them): an entry
    stored under a file's key but parsed from other bytes, as a crafted collision would be, is a miss
    for the audit, which parses the bytes it read; the git path keeps trusting git's ids."""
    import marshal

    from checker.cache import digest
    from checker.git_objects import blob_id
    from checker.inventory import SourceFile

    real = SourceFile("inventories/p.yaml", b"people:\n  - id: real\n    location: US\n    employment: employee\n")
    forged = SourceFile(real.path, b"people:\n  - id: forged\n    location: US\n    employment: employee\n")
    cache = Cache(tmp_path / "cache")
    forged_form = marshal.loads(pipeline._parsed_form(forged))
    cache.put_marshal("parsed", {digest("parsed-blob", real.path, blob_id(real.data)): forged_form})
    [parsed] = pipeline.parse_sources([real], cache, jobs=1)
    assert parsed.doc is not None and parsed.doc.value["people"][0]["id"] == "real"
    cache.close()
