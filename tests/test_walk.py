"""The inventory and policy folders on disk read the same files, and fail the same way, as `diff` reads
them from git (SPEC §2): compared on one real repository, entry for entry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checker import inventory, policies
from checker.errors import InputError, PolicyError
from checker.git import Repository
from checker.walk import shown_name
from testing.gitorg import GitOrg, make_org
from tests.conftest import run_checker

LIMIT = 1_000_000
GROUP = ("groups:\n  - id: {id}\n    platform: lark\n    kind: chat\n    owner: ana\n    members: [ana]\n")


@pytest.fixture
def org(tmp_path: Path) -> GitOrg:
    return make_org(tmp_path / "repo")


def _disk(org: GitOrg, folder: str, suffixes: tuple[str, ...]) -> tuple[set[str], set[str]]:
    """(files read, files with a problem) on disk."""
    if suffixes == inventory.YAML_SUFFIXES:
        sources, problems = inventory.read_tree(org.root / folder, folder)
        return {s.path for s in sources}, {p.file for p in problems}
    found, problems = policies.walk(org.root / folder, folder, policies.is_policy_file, "policy", "policy file")
    return {f.shown for f in found}, {p.file for p in problems}


def _git(org: GitOrg, folder: str, suffixes: tuple[str, ...]) -> tuple[set[str], set[str]]:
    with Repository(org.root) as repo:
        listed = repo.folder(org.commit("entries"), folder, suffixes, LIMIT)
    return {b.path for b in listed.blobs}, {p.file for p in listed.problems}


def _entries(org: GitOrg, folder: str, name: str) -> None:
    """Every kind of entry git can hold, below `folder`, with wanted files named like `name`."""
    root = org.root / folder
    org.write({f"{folder}/upper/g1.YAML": GROUP.format(id="upper-1"), f"{folder}/upper/g2.Yml": GROUP.format(id="u2"),
               f"{folder}/.hidden/{name}": "a: 1\n", f"{folder}/.dotfile.yaml": "b: 1\n",
               f"{folder}/notes.txt": "not read\n", "outside.yaml": "c: 1\n", "outside-notes.md": "x\n"})
    (root / "into-hidden.yaml").symlink_to(f".hidden/{name}")
    (root / "broken.yaml").symlink_to("nowhere.yaml")
    (root / "broken-notes.txt").symlink_to("nowhere.txt")
    (root / "escape.yaml").symlink_to("../outside.yaml")
    (root / "escape-notes.md").symlink_to("../outside-notes.md")
    (root / "to-text.yaml").symlink_to("notes.txt")
    (root / "linked-folder").symlink_to(".hidden")
    (root / "outside-folder").symlink_to("..")


@pytest.mark.parametrize(("folder", "suffixes", "name"), [
    ("inventories", inventory.YAML_SUFFIXES, "h.yaml"),
    ("policies", policies.POLICY_SUFFIXES, "h.json"),
])
def test_disk_and_git_read_the_same_files_and_refuse_the_same_ones(
        org: GitOrg, folder: str, suffixes: tuple[str, ...], name: str) -> None:
    _entries(org, folder, name)
    disk = _disk(org, folder, suffixes)
    assert disk == _git(org, folder, suffixes)
    read, refused = disk
    assert {f"{folder}/upper/g1.YAML", f"{folder}/upper/g2.Yml", f"{folder}/.hidden/{name}",
            f"{folder}/.dotfile.yaml"} <= read
    assert refused == {f"{folder}/broken.yaml", f"{folder}/broken-notes.txt", f"{folder}/escape.yaml",
                       f"{folder}/to-text.yaml", f"{folder}/outside-folder"}


def test_upper_case_suffixes_are_inventory_files_on_disk_and_in_diff(org: GitOrg) -> None:
    """A group file renamed to .YAML used to vanish (its groups dropped, exit 0)."""
    org.write({"inventories/groups/extra.YAML": GROUP.format(id="extra").replace("owner: ana", "owner: ghost")})
    org.commit("a group in a .YAML file")
    for command in (["validate"], ["diff", "--base", "main", "--head", "HEAD"]):
        proc = run_checker(*command, cwd=org.root)
        assert proc.returncode == 2, proc.stdout
        assert "inventories/groups/extra.YAML:5: group extra: owner 'ghost' is not a known person" in proc.stderr


@pytest.mark.parametrize("name", ["rule.REGO", "data.Yaml", "extra.JSON", "x_test.YML"])
def test_a_policy_file_with_an_upper_case_suffix_is_refused_by_name(org: GitOrg, name: str) -> None:
    """OPA and Regal read only lowercase suffixes: such a file is neither read nor skipped, but refused."""
    org.write({f"policies/{name}": "package access.other\n"})
    with pytest.raises(PolicyError) as exc:
        policies.load_dir(org.root / "policies", "policies")
    assert [(p.file, "rename it" in p.message) for p in exc.value.problems] == [(f"policies/{name}", True)]
    org.commit("an upper-case policy file")
    proc = run_checker("diff", "--base", "main", "--head", "HEAD", cwd=org.root)
    assert proc.returncode == 2 and f"policies/{name}" in proc.stderr and "rename it" in proc.stderr


@pytest.mark.parametrize("folder", ["inventories", "policies"])
def test_a_symlink_loop_on_disk_is_an_error(org: GitOrg, folder: str) -> None:
    (org.root / folder / "a.yaml").symlink_to("b.yaml")
    (org.root / folder / "b.yaml").symlink_to("a.yaml")
    proc = run_checker("validate", cwd=org.root)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{folder}/a.yaml: symlink loop (-> b.yaml)" in proc.stderr
    assert f"{folder}/b.yaml: symlink loop (-> a.yaml)" in proc.stderr


@pytest.mark.parametrize("folder", ["inventories", "policies"])
def test_a_file_name_that_is_not_utf8_is_an_error(org: GitOrg, folder: str) -> None:
    for name in (b"caf\xe9.yaml", b"notes-\xff.txt", b"dir-\xfe"):
        path = os.fsencode(org.root / folder) + b"/" + name
        if name.startswith(b"dir"):
            os.mkdir(path)
        else:
            Path(os.fsdecode(path)).write_text("a: 1\n")
    proc = run_checker("validate", cwd=org.root)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    for shown in ("caf\\xe9.yaml: file name is not valid UTF-8", "notes-\\xff.txt: file name is not valid UTF-8",
                  "dir-\\xfe: folder name is not valid UTF-8"):
        assert f"{folder}/{shown}" in proc.stderr


@pytest.mark.parametrize("folder", ["inventories", "policies"])
def test_a_pipe_of_any_name_is_an_error(org: GitOrg, folder: str) -> None:
    os.mkfifo(org.root / folder / "notes")
    proc = run_checker("validate", cwd=org.root)
    assert proc.returncode == 2 and f"{folder}/notes: not a regular file" in proc.stderr


def test_shown_name_escapes_what_is_not_utf8() -> None:
    assert shown_name(os.fsdecode(b"a\xe9b.yaml")) == "a\\xe9b.yaml" and shown_name("é.yaml") == "é.yaml"


def test_hidden_policy_data_is_read(org: GitOrg) -> None:
    """Hidden files and folders under the policy folder were skipped on disk but read by diff."""
    org.write({"policies/.extra/more.yaml": "data_classes: {}\n"})
    with pytest.raises(PolicyError, match="data key 'data_classes' is already defined"):
        policies.load_dir(org.root / "policies", "policies")


def test_inventory_read_tree_errors_are_input_errors(org: GitOrg) -> None:
    (org.root / "inventories" / "loop.yml").symlink_to("loop.yml")
    with pytest.raises(InputError, match="symlink loop"):
        inventory.load(org.root / "inventories", "inventories", inventory.Known(frozenset(), frozenset()))
