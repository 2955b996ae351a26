"""The snapshot file (SPEC §8): model <-> JSON, validation by file and JSON pointer, atomic writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from checker import snapshot
from checker.errors import CheckerError
from checker.snapshot import Snapshot, SnapshotError, SnapshotGroup, SnapshotPerson


def sample() -> Snapshot:
    return Snapshot(1, "lark", "2026-11-29T06:00:00Z", {"tenant": "example", "checker": "0.1.0"},
                    (SnapshotPerson("ou_a", "mei.chen@example.com", "Mei Chen", "US", "employee", "active"),
                     SnapshotPerson("ou_b", None, None, None, None, None)),
                    (SnapshotGroup("oc_1", "TT Safety", "chat", "ou_a", ("ou_a", "ou_b")),),
                    ("1 bot skipped",))


def doc(**changes: Any) -> dict[str, Any]:
    value = snapshot.to_json(sample())
    value.update(changes)
    return value


def test_round_trip_through_text() -> None:
    text = snapshot.dumps(sample())
    assert json.loads(text) == snapshot.to_json(sample())
    assert snapshot.parse(text, "s.json") == sample()


def test_schema_file_is_a_valid_schema() -> None:
    assert snapshot.snapshot_schema()["properties"]["version"] == {"const": 1}


@pytest.mark.parametrize(("value", "expected"), [
    (doc(version=2), "s.json: /version: snapshot version 2 is not supported"),
    (doc(platform="myspace"), "s.json: /platform: 'myspace' is not one of"),
    (doc(taken_at="yesterday"), "s.json: /taken_at: 'yesterday' does not match"),
    ({**doc(), "extra": 1}, "s.json: /: Additional properties are not allowed ('extra' was unexpected)"),
    (doc(people=[{"account": "ou_a", "email": None, "name": None, "location": "USA", "employment": None,
                  "status": None}], groups=[]), "s.json: /people/0/location: 'USA' is not valid here"),
    (doc(people=[{"account": "ou_a", "email": None, "name": None, "location": None, "employment": "intern",
                  "status": None}], groups=[]), "s.json: /people/0/employment: 'intern' is not one of"),
    (doc(groups=[{"external_id": "oc_1", "name": "x", "kind": "chat", "owner": "ou_a"}]),
     "s.json: /groups/0: 'members' is a required property"),
])
def test_schema_errors_name_the_pointer(value: dict[str, Any], expected: str) -> None:
    with pytest.raises(SnapshotError) as caught:
        snapshot.parse(json.dumps(value), "s.json")
    assert str(caught.value).startswith(expected), str(caught.value)


def test_duplicate_accounts_and_unknown_references() -> None:
    value = doc()
    value["people"].append(dict(value["people"][0]))
    value["groups"].append({"external_id": "oc_1", "name": "y", "kind": "chat", "owner": "ou_zz",
                            "members": ["ou_a", "ou_q", "ou_a"]})
    with pytest.raises(SnapshotError) as caught:
        snapshot.parse(json.dumps(value), "s.json")
    assert [str(p) for p in caught.value.problems] == [
        "s.json: /people/2/account: duplicate account 'ou_a' (first at /people/0)",
        "s.json: /groups/1/external_id: duplicate group 'oc_1' (first at /groups/0)",
        "s.json: /groups/1/owner: account 'ou_zz' is not in people",
        "s.json: /groups/1/members/1: account 'ou_q' is not in people",
        "s.json: /groups/1/members/2: account 'ou_a' listed twice",
    ]


def test_not_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"version": 1,\n "platform": lark}\n')
    with pytest.raises(SnapshotError) as caught:
        snapshot.read(path, "s.json")
    assert str(caught.value) == "s.json:2: not JSON: Expecting value (column 14)"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="cannot read the snapshot"):
        snapshot.read(tmp_path / "none.json")


def test_write_is_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "out" / "s.json"
    snapshot.write(sample(), path)
    assert snapshot.read(path) == sample()
    assert sorted(os.listdir(path.parent)) == ["s.json"]


def test_invalid_snapshot_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("old")
    bad = Snapshot(1, "lark", "2026-11-29T06:00:00Z", {}, (), (SnapshotGroup("oc", "x", "chat", "ou_gone", ()),))
    with pytest.raises(SnapshotError, match="/groups/0/owner"):
        snapshot.write(bad, path)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["s.json"]


def test_failed_multi_file_write_renames_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a")
    blocker = tmp_path / "blocked"
    blocker.write_text("not a folder")
    with pytest.raises(CheckerError, match="cannot write"):
        snapshot.replace_atomic([(tmp_path / "a.yaml", b"new"), (blocker / "b.yaml", b"b")])
    assert (tmp_path / "a.yaml").read_text() == "a"
    assert sorted(os.listdir(tmp_path)) == ["a.yaml", "blocked"]


def test_interrupt_while_writing_leaves_the_old_file(tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT) in the middle of writing: the old file stays, no temp file is left."""
    path = tmp_path / "s.json"
    path.write_text("old")
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from checker import snapshot
        # A shell's background job starts with SIGINT ignored, and Python then installs no handler.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        real_fsync = os.fsync
        def interrupted(fd):
            os.kill(os.getpid(), signal.SIGINT)
            real_fsync(fd)
        os.fsync = interrupted
        try:
            snapshot.write_atomic(Path({str(path)!r}), b"new" * 1000)
        except KeyboardInterrupt:
            sys.exit(130)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 130, done.stderr
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["s.json"]


BAD_VALUES: list[Any] = [None, True, 0, 1.5, "", "x" * 257, "usa", "US\n", [], {}, ["ou_a"], {"a": 1}]


def mutations() -> list[dict[str, Any]]:
    """The sample document with one value replaced, one key dropped or one key added, everywhere."""
    base = snapshot.to_json(sample())
    found: list[dict[str, Any]] = []

    def variants(node: Any) -> list[Any]:
        out: list[Any] = list(BAD_VALUES)
        if isinstance(node, dict):
            out += [{k: v for k, v in node.items() if k != key} for key in node]
            out.append({**node, "extra": None})
            for key, value in node.items():
                out += [{**node, key: changed} for changed in variants(value)]
        elif isinstance(node, list):
            for i, value in enumerate(node):
                out += [[*node[:i], changed, *node[i + 1:]] for changed in variants(value)]
        return out

    found = [v for v in variants(base) if isinstance(v, dict)]
    return found


def test_fast_path_is_never_less_strict_than_the_schema() -> None:
    cases = mutations()
    assert len(cases) > 400
    validator = snapshot._validator()
    for case in cases:
        if snapshot._plainly_valid(case):
            assert not list(validator.iter_errors(case)), case
    assert snapshot._plainly_valid(snapshot.to_json(sample()))
