"""What lets a 100,000-group audit fit in memory: files loaded and inputs evaluated in chunks (with
the same results as all at once), workers that do not inherit a large parent, and the whole-run
cache entry of a warm audit."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from checker import inventory, pipeline, policies, runcache
from checker.cache import Cache, NoCache
from checker.engines import EngineOptions, PolicyEngine, RawResult, make_engine, workers
from checker.errors import InputError
from checker.models import Inventory
from tests.conftest import ROOT, run_checker

POLICY_SET = policies.load_dir(ROOT / "policies", "policies")
AS_OF = "2026-11-29"


@pytest.fixture(scope="module")
def engine() -> Iterator[PolicyEngine]:
    made = make_engine("embedded", POLICY_SET, EngineOptions(jobs=2))
    yield made
    made.close()


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return pipeline.load_inventory(ROOT / "inventories", POLICY_SET, "inventories")


def test_loading_one_file_at_a_time_builds_the_same_inventory(monkeypatch: pytest.MonkeyPatch, inv: Inventory) -> None:
    monkeypatch.setattr(pipeline, "LOAD_CHUNK_FILES", 1)
    chunked = pipeline.load_inventory(ROOT / "inventories", POLICY_SET, "inventories")
    assert chunked == inv
    sources, _ = inventory.read_tree(ROOT / "inventories", "inventories")
    assert chunked == inventory.build([inventory.parse_source(s) for s in reversed(sources)],
                                      pipeline.known_for(POLICY_SET))


def _org(tmp_path: Path, groups: str, people: str) -> Path:
    folder = tmp_path / "org"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "groups.yaml").write_text(groups)
    (folder / "b-people.yaml").write_text(people)
    return folder


PEOPLE = """people:
  - id: ann
    location: GB
    employment: employee
  - id: bob
    location: GB
    employment: employee
"""


def test_references_to_people_in_later_chunks_resolve_and_unknown_ones_are_errors(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pipeline, "LOAD_CHUNK_FILES", 1)
    groups = """groups:
  - id: g1
    platform: slack
    kind: channel
    owner: ann
    members: [bob]
    data_classes: [internal]
    subject_jurisdictions: [EU]
"""
    loaded = pipeline.load_inventory(_org(tmp_path, groups, PEOPLE), POLICY_SET, "org")
    assert loaded.groups["g1"].members == ("ann", "bob")  # the owner is a member, listed or not
    assert loaded.groups["g1"].members[0] is loaded.people["ann"].id  # one string per person id

    shutil.rmtree(tmp_path / "org")
    broken = groups.replace("members: [bob]", "members:\n      - bob\n      - cyd")
    with pytest.raises(InputError) as caught:
        pipeline.load_inventory(_org(tmp_path, broken, PEOPLE), POLICY_SET, "org")
    assert [str(p) for p in caught.value.problems] == ["org/a/groups.yaml:8: group g1: member 'cyd' is not a "
                                                       "known person"]


def test_a_file_that_grew_after_listing_is_read_whole_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "people.yaml"
    path.write_bytes(b"x" * 10)
    listed_size = 4  # as if the file had grown since it was listed
    source, problem = inventory.read_file(path, "people.yaml", listed_size, limit=100)
    assert problem is None and source is not None and source.data == b"x" * 10
    source, problem = inventory.read_file(path, "people.yaml", listed_size, limit=8)
    assert source is None and problem is not None and "over the limit of 8 bytes" in problem.message


@pytest.mark.parametrize("scope", ["group", "person"])
def test_results_are_the_same_whether_evaluated_in_chunks_or_at_once(engine: PolicyEngine, inv: Inventory,
                                                                     scope: str) -> None:
    def results(chunk: int) -> dict[str, RawResult]:
        if scope == "group":
            return pipeline.evaluate_groups(lambda: engine, inv, AS_OF, "key", NoCache(), chunk=chunk)
        return pipeline.evaluate_people(lambda: engine, inv, AS_OF, "key", NoCache(), POLICY_SET.rules,
                                        person_ids=sorted(inv.people), chunk=chunk)

    at_once = results(10**6)
    assert at_once and any(at_once.values())
    assert results(1) == at_once
    assert results(3) == at_once


def test_workers_start_afresh_once_the_parent_is_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHECKER_MP_START", raising=False)
    assert workers.resident_bytes() > 0
    monkeypatch.setattr(workers, "FORK_MAX_PARENT_BYTES", 0)
    assert workers.context().get_start_method() == "spawn"
    monkeypatch.setattr(workers, "FORK_MAX_PARENT_BYTES", 2**62)
    assert workers.context().get_start_method() == "fork"


def test_an_engine_with_spawned_workers_gives_the_same_results(monkeypatch: pytest.MonkeyPatch, engine: PolicyEngine,
                                                               inv: Inventory) -> None:
    monkeypatch.delenv("CHECKER_MP_START", raising=False)
    monkeypatch.setattr(workers, "FORK_MAX_PARENT_BYTES", 0)
    spawned = make_engine("embedded", POLICY_SET, EngineOptions(jobs=2))
    try:
        fresh = pipeline.evaluate_groups(lambda: spawned, inv, AS_OF, "key", NoCache())
    finally:
        spawned.close()
    assert fresh == pipeline.evaluate_groups(lambda: engine, inv, AS_OF, "key", NoCache())


def _audit(folder: Path, cache: Path) -> tuple[int, dict[str, object], str]:
    done = run_checker("audit", "--inventories", str(folder / "inventories"), "--policies", str(folder / "policies"),
                       "--as-of", AS_OF, "--format", "json", "--fail-on", "never",
                       env={"CHECKER_CACHE_DIR": str(cache), "CHECKER_TIMINGS": "1"})
    return done.returncode, json.loads(done.stdout), done.stderr


def test_a_warm_audit_with_nothing_changed_reads_one_entry_and_reports_the_same(tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    shutil.copytree(ROOT / "inventories", folder / "inventories")
    shutil.copytree(ROOT / "policies", folder / "policies")
    cache = tmp_path / "cache"
    code, cold, cold_log = _audit(folder, cache)
    assert code == 0 and "build inventory" in cold_log
    code, warm, warm_log = _audit(folder, cache)
    assert code == 0 and warm == cold
    assert "build inventory" not in warm_log and "cache lookup" not in warm_log  # the one entry answered

    # any change to any file is another key: the full path runs again, and its findings are new
    people = sorted((folder / "inventories" / "people").glob("*.yaml"))[0]
    people.write_text(people.read_text() + "# edited\n")
    code, edited, edited_log = _audit(folder, cache)
    assert code == 0 and "build inventory" in edited_log and edited["findings"] == cold["findings"]


def test_the_run_key_moves_with_files_policies_and_date_and_is_none_when_a_file_cannot_be_read(
        tmp_path: Path) -> None:
    folder = tmp_path / "inventories"
    shutil.copytree(ROOT / "inventories", folder)

    def key(display: str = "inventories", as_of: str = AS_OF, policies: str = "policies-a") -> str | None:
        return runcache.key(folder, display, as_of, policies)[0]

    first = key()
    assert first is not None and first == key()
    assert first != key(as_of="2026-11-30")
    assert first != key(policies="policies-b")
    assert first != key(display="elsewhere")  # findings name the files
    (folder / "waivers.yaml").write_bytes((folder / "waivers.yaml").read_bytes() + b"\n")
    assert key() not in (first, None)
    (folder / "broken.yaml").symlink_to(folder / "missing.yaml")
    assert runcache.key(folder, "inventories", AS_OF, "policies-a") == (None, None)


def test_files_read_for_the_key_are_loaded_without_reading_them_again(monkeypatch: pytest.MonkeyPatch,
                                                                        inv: Inventory) -> None:
    _, read = runcache.key(ROOT / "inventories", "inventories", AS_OF, "policies")
    assert read is not None and len(read) == len(inv.files)
    monkeypatch.setattr(inventory, "read_found", None)  # reading again would fail
    assert pipeline.load_inventory(ROOT / "inventories", POLICY_SET, "inventories", read=read) == inv
    monkeypatch.undo()
    monkeypatch.setattr(runcache, "KEEP_READ_BYTES", 0)
    assert runcache.key(ROOT / "inventories", "inventories", AS_OF, "policies")[1] is None  # too big to keep


def test_a_damaged_run_entry_is_not_trusted(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put_marshal(runcache.SPACE, {"k": ("not", "findings")})
    assert runcache.get(cache, "k") is None
    assert runcache.get(cache, "absent") is None
