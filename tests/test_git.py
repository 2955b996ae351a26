"""checker.git on real repositories built in temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checker.errors import GitError
from checker.git import Repository
from testing.gitorg import GitOrg, make_org

YAML = (".yaml", ".yml")
LIMIT = 1_000_000


@pytest.fixture
def org(tmp_path: Path) -> GitOrg:
    return make_org(tmp_path / "repo")


def test_commits_and_merge_base(org: GitOrg) -> None:
    branch_point = org.git("rev-parse", "HEAD")
    org.write({"inventories/x.yaml": "people: []\n"})
    head = org.commit("on the branch")
    org.checkout("main")
    org.write({"inventories/y.yaml": "people: []\n"})
    base = org.commit("main moves on")
    with Repository(org.root) as repo:
        assert repo.commit("pr", "--head") == head
        assert repo.commit("main", "--base") == base
        assert repo.commit("pr~1", "--head") == branch_point
        assert repo.merge_base(base, head, "main", "pr") == branch_point
        assert not repo.is_shallow()


def test_unknown_ref_is_a_git_error(org: GitOrg) -> None:
    with Repository(org.root) as repo:
        with pytest.raises(GitError, match="--base 'no-such-branch': unknown git ref"):
            repo.commit("no-such-branch", "--base")
        with pytest.raises(GitError, match="not a git ref"):
            repo.commit("--output=/tmp/x", "--base")


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not a git repository"):
        Repository(tmp_path)
    with pytest.raises(GitError, match="no such folder"):
        Repository(tmp_path / "missing")


def test_a_subfolder_opens_its_repository(org: GitOrg) -> None:
    with Repository(org.root / "policies") as repo:
        assert repo.root is not None and repo.root.resolve() == org.root.resolve()


def test_unrelated_histories_have_no_merge_base(org: GitOrg) -> None:
    org.git("checkout", "-q", "--orphan", "other")
    org.write({"README": "x\n"})
    other = org.commit("unrelated")
    with Repository(org.root) as repo:
        main = repo.commit("main", "--base")
        with pytest.raises(GitError, match="unrelated histories"):
            repo.merge_base(main, other, "main", "other")


def test_shallow_clone_without_the_merge_base(org: GitOrg, tmp_path: Path) -> None:
    org.write({"inventories/x.yaml": "people: []\n"})
    org.commit("branch")
    org.checkout("main")
    org.write({"inventories/y.yaml": "people: []\n"})
    org.commit("main moves on")
    clone = tmp_path / "clone"
    org.git("clone", "-q", "--depth", "1", "--no-single-branch", f"file://{org.root}", str(clone))
    with Repository(clone) as repo:
        assert repo.is_shallow()
        base, head = repo.commit("origin/main", "--base"), repo.commit("origin/pr", "--head")
        with pytest.raises(GitError, match="fetch-depth: 0, or git fetch --unshallow"):
            repo.merge_base(base, head, "origin/main", "origin/pr")
        with pytest.raises(GitError, match="shallow clone"):
            repo.commit("origin/gone", "--base")


def test_folder_lists_relevant_files_with_repository_paths(org: GitOrg) -> None:
    org.write({"inventories/.hidden.yaml": "x", "inventories/.git-crypt/a.yaml": "x",
               "inventories/README.md": "x", "inventories/deep/er/z.yml": "people: []\n"})
    head = org.commit()
    with Repository(org.root) as repo:
        folder = repo.folder(head, "inventories", YAML, LIMIT)
        paths = [b.path for b in folder.blobs]
        # hidden files are read too (SPEC §2: every *.yaml under the folder), as on disk
        assert paths == ["inventories/.git-crypt/a.yaml", "inventories/.hidden.yaml",
                         "inventories/deep/er/z.yml", "inventories/groups/cn-review.yaml",
                         "inventories/groups/us-escalations.yaml", "inventories/people/elsewhere.yaml",
                         "inventories/people/us.yaml"]
        assert folder.exists and not folder.problems
        assert folder.tree == org.git("rev-parse", f"{head}:inventories")
        data = repo.read_folder(folder)
        assert data["inventories/people/us.yaml"] == (org.root / "inventories/people/us.yaml").read_bytes()
        # the repository root as the folder
        assert "policies/data.yaml" in [b.path for b in repo.folder(head, "", YAML, LIMIT).blobs]


def test_missing_folder_and_a_file_in_the_way(org: GitOrg) -> None:
    head = org.git("rev-parse", "HEAD")
    with Repository(org.root) as repo:
        assert not repo.folder(head, "nowhere", YAML, LIMIT).exists
        assert not repo.folder(head, "inventories-old", YAML, LIMIT).exists
        with pytest.raises(GitError, match=r"policies/data\.yaml is a file"):
            repo.folder(head, "policies/data.yaml", YAML, LIMIT)


def test_folder_names_are_literal_paths(org: GitOrg) -> None:
    org.write({"inv*/a.yaml": "people: []\n"})
    head = org.commit()
    with Repository(org.root) as repo:
        assert [b.path for b in repo.folder(head, "inv*", YAML, LIMIT).blobs] == ["inv*/a.yaml"]


def test_huge_blob_is_a_problem_and_is_not_read(org: GitOrg) -> None:
    org.write({"inventories/big.yaml": "#" * 5000 + "\n"})
    head = org.commit()
    with Repository(org.root) as repo:
        folder = repo.folder(head, "inventories", YAML, 4096)
        assert "inventories/big.yaml" not in [b.path for b in folder.blobs]
        [problem] = folder.problems
        assert problem.file == "inventories/big.yaml" and "over the limit of 4,096" in problem.message
        assert not repo._blob_cache  # nothing was read


def test_symlinks(org: GitOrg) -> None:
    (org.root / "inventories/alias.yaml").symlink_to("people/us.yaml")  # inside: read as its target
    (org.root / "inventories/escape.yaml").symlink_to("../policies/data.yaml")
    (org.root / "inventories/abs.yaml").symlink_to("/etc/passwd")
    (org.root / "inventories/broken.yaml").symlink_to("people/nobody.yaml")
    (org.root / "inventories/notes.txt").symlink_to("../policies/data.yaml")  # not a file we read
    (org.root / "inventories/more").symlink_to("../policies")  # a folder outside
    (org.root / "inventories/inner").symlink_to("groups")  # a folder inside: read as itself
    (org.root / "inventories/round.yaml").symlink_to("../inventories/people/us.yaml")  # out and back in
    head = org.commit()
    with Repository(org.root) as repo:
        folder = repo.folder(head, "inventories", YAML, LIMIT)
    problems = {p.file: p.message for p in folder.problems}
    assert set(problems) == {"inventories/escape.yaml", "inventories/abs.yaml", "inventories/broken.yaml",
                             "inventories/more"}
    assert "leaves the folder" in problems["inventories/escape.yaml"]
    assert "broken symlink" in problems["inventories/broken.yaml"]
    assert "inventories/alias.yaml" not in [b.path for b in folder.blobs]


def test_submodule_is_a_problem(org: GitOrg, tmp_path: Path) -> None:
    other = GitOrg(tmp_path / "other")
    other.write({"a.yaml": "people: []\n"})
    other.commit()
    org.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(other.root), "inventories/sub")
    head = org.commit()
    with Repository(org.root) as repo:
        folder = repo.folder(head, "inventories", YAML, LIMIT)
    assert [p.file for p in folder.problems] == ["inventories/sub"]
    assert "submodule" in folder.problems[0].message


def test_relative_folder(org: GitOrg, tmp_path: Path) -> None:
    with Repository(org.root) as repo:
        assert repo.relative_folder(Path("inventories"), "--inventories") == "inventories"
        assert repo.relative_folder(Path("./inventories/"), "--inventories") == "inventories"
        assert repo.relative_folder(Path("."), "--inventories") == ""
        assert repo.relative_folder(org.root / "policies", "--policies") == "policies"
        with pytest.raises(GitError, match="not inside the repository"):
            repo.relative_folder(tmp_path / "elsewhere", "--policies")
        with pytest.raises(GitError, match="not inside the repository"):
            repo.relative_folder(Path("../x"), "--policies")


def test_reading_leaves_the_working_tree_and_index_alone(org: GitOrg) -> None:
    org.edit("inventories/people/us.yaml", "location: US", "location: FR")  # uncommitted
    org.write({"inventories/new.yaml": "people: []\n"})
    status = org.git("status", "--porcelain")
    index = (org.root / ".git/index").read_bytes()
    head = org.git("rev-parse", "HEAD")
    with Repository(org.root) as repo:
        folder = repo.folder(head, "inventories", YAML, LIMIT)
        data = repo.read_folder(folder)
    assert b"location: FR" not in data["inventories/people/us.yaml"]  # the commit, not the working tree
    assert "inventories/new.yaml" not in data
    assert org.git("status", "--porcelain") == status
    assert (org.root / ".git/index").read_bytes() == index


def test_read_batches_and_remembers(org: GitOrg) -> None:
    head = org.git("rev-parse", "HEAD")
    with Repository(org.root) as repo:
        folder = repo.folder(head, "policies", (".rego", ".yaml"), LIMIT)
        shas = [b.sha for b in folder.blobs]
        first = repo.read(shas + shas)
        assert set(first) == set(shas)
        assert repo.read(shas[:1]) == {shas[0]: first[shas[0]]}
        with pytest.raises(GitError, match="cannot read blob"):
            repo.read(["0" * 40])


# ---------------------------------------------------------------- refs resolved exactly as git does (issue 9.1)


def test_a_tag_shadowing_a_remote_branch_is_ambiguous(org: GitOrg) -> None:
    old = org.git("rev-parse", "HEAD")
    org.write({"inventories/x.yaml": "people: []\n"})
    tip = org.commit("main moves on")
    org.git("update-ref", "refs/remotes/origin/main", tip)
    org.git("tag", "origin/main", old)  # pushed by someone to pin the comparison to an old commit
    org.git("config", "core.warnAmbiguousRefs", "false")  # the repository's config cannot hide it
    with Repository(org.root) as repo:
        with pytest.raises(GitError, match="ambiguous") as caught:
            repo.commit("origin/main", "--base")
        assert "refs/tags/origin/main" in str(caught.value) and "refs/remotes/origin/main" in str(caught.value)
        with pytest.raises(GitError, match="ambiguous"):
            repo.commit("origin/main~1", "--head")  # with a suffix too
        assert repo.commit("refs/remotes/origin/main", "--base") == tip  # a full name is not ambiguous
        assert repo.commit(tip, "--base") == tip


@pytest.mark.parametrize("make", ["branch-and-tag", "hex-branch"])
def test_other_ambiguous_names(org: GitOrg, make: str) -> None:
    first = org.git("rev-parse", "HEAD")
    org.write({"inventories/x.yaml": "people: []\n"})
    second = org.commit()
    if make == "branch-and-tag":
        name = "release"
        org.git("branch", name, second)
        org.git("tag", name, first)
    else:  # a branch named like the short id of another commit
        name = first[:8]
        org.git("branch", name, second)
    with Repository(org.root) as repo, pytest.raises(GitError, match="ambiguous"):
        repo.commit(name, "--base")


def test_replace_refs_do_not_swap_commits(org: GitOrg) -> None:
    old = org.git("rev-parse", "HEAD")
    org.write({"inventories/x.yaml": "people: []\n"})
    tip = org.commit()
    org.git("replace", tip, old)  # refs/replace/<tip> -> old: git would read old's tree for tip
    with Repository(org.root) as repo:
        assert repo.commit("pr", "--head") == tip
        assert "inventories/x.yaml" in [b.path for b in repo.folder(tip, "inventories", YAML, LIMIT).blobs]


def test_a_ref_naming_a_tree_or_blob_is_not_a_commit(org: GitOrg) -> None:
    tree = org.git("rev-parse", "HEAD^{tree}")
    with Repository(org.root) as repo, pytest.raises(GitError, match="unknown git ref"):
        repo.commit(tree, "--base")


# ---------------------------------------------------------------- the same files as on disk (issue 9.8, 9.14)


def test_suffixes_count_in_any_letter_case(org: GitOrg) -> None:
    org.write({"inventories/upper.YAML": "people: []\n", "inventories/mixed.Yml": "people: []\n",
               "inventories/.hidden/deep.yaml": "people: []\n", "inventories/notes.yaml.txt": "x"})
    head = org.commit()
    with Repository(org.root) as repo:
        paths = [b.path for b in repo.folder(head, "inventories", YAML, LIMIT).blobs]
    assert {"inventories/upper.YAML", "inventories/mixed.Yml", "inventories/.hidden/deep.yaml"} <= set(paths)
    assert "inventories/notes.yaml.txt" not in paths


@pytest.mark.parametrize("links", [
    {"a.yaml": "b.yaml", "b.yaml": "a.yaml"},  # a loop
    {"a.yaml": "a.yaml"},  # a link to itself
    {"a.yaml": "sub/x.yaml", "sub": "."},  # a loop through a folder link
    {"a.yaml": "loop/x.yaml", "loop": "loop"},
])
def test_symlink_loops_are_problems(org: GitOrg, links: dict[str, str]) -> None:
    for name, target in links.items():
        (org.root / "inventories" / name).symlink_to(target)
    head = org.commit()
    with Repository(org.root) as repo:
        problems = {p.file: p.message for p in repo.folder(head, "inventories", YAML, LIMIT).problems}
    assert "inventories/a.yaml" in problems
    assert any(word in problems["inventories/a.yaml"] for word in ("loop", "broken"))


def test_links_through_other_links(org: GitOrg) -> None:
    (org.root / "inventories/hop.yaml").symlink_to("alias.yaml")
    (org.root / "inventories/alias.yaml").symlink_to("people/us.yaml")
    (org.root / "inventories/out.yaml").symlink_to("away.yaml")
    (org.root / "inventories/away.yaml").symlink_to("../policies/data.yaml")
    (org.root / "inventories/dirlink").symlink_to("people")
    (org.root / "inventories/via.yaml").symlink_to("dirlink/us.yaml")
    (org.root / "inventories/textfile.yaml").symlink_to("people/notes.txt")
    org.write({"inventories/people/notes.txt": "x"})
    head = org.commit()
    with Repository(org.root) as repo:
        folder = repo.folder(head, "inventories", YAML, LIMIT)
    problems = {p.file: p.message for p in folder.problems}
    assert set(problems) == {"inventories/out.yaml", "inventories/away.yaml", "inventories/textfile.yaml"}
    assert "leaves the folder" in problems["inventories/out.yaml"]
    assert "not a .yaml file" in problems["inventories/textfile.yaml"]


def test_a_name_that_is_not_utf8_is_a_problem(org: GitOrg) -> None:
    os.makedirs(org.root / "inventories", exist_ok=True)
    (org.root / os.fsdecode(b"inventories/bad\xff.yaml")).write_text("people: []\n")
    (org.root / os.fsdecode(b"inventories/also\xfe.txt")).write_text("x")
    head = org.commit()
    with Repository(org.root) as repo:
        folder = repo.folder(head, "inventories", YAML, LIMIT)
    problems = {p.file: p.message for p in folder.problems}
    assert problems == {"inventories/bad\\xff.yaml": "file name is not valid UTF-8; rename it",
                        "inventories/also\\xfe.txt": "file name is not valid UTF-8; rename it"}
    assert all("\udcff" not in b.path for b in folder.blobs)
    str(problems).encode("utf-8")  # printable: no lone surrogates left in any message
