"""Every git access of the checker, through gitpython; no other module touches git.

`checker diff` reads both sides of a change straight from git objects: commits are resolved,
folders are listed from tree objects (`ls-tree`), and files are read as blobs by id, in one
batch (`cat-file --batch`). Nothing here checks out, resets or writes the working tree, the
index or any ref. Every failure becomes a GitError with a message a person can act on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
import tempfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, cast

from checker import treewalk
from checker.errors import GitError, Problem

try:
    import git
    from git.objects.tree import Tree
except ImportError as exc:  # gitpython refuses to load when there is no git executable
    raise GitError(f"git is not available: {exc}") from None

SYMLINK_MODE = 0o120000
SUBMODULE_MODE = 0o160000
FETCH_HINT = ("fetch full history: actions/checkout with fetch-depth: 0, or git fetch --unshallow "
              "(and fetch the base branch)")


@dataclass(frozen=True)
class BlobEntry:
    path: str  # relative to the repository root, e.g. inventories/groups/x.yaml
    sha: str  # blob id: equal ids mean equal bytes


@dataclass(frozen=True)
class Folder:
    """The files of one folder at one commit: what `git ls-tree -r` shows, filtered and checked."""

    path: str  # relative to the repository root; "" is the root itself
    tree: str | None  # tree id; None when the folder does not exist at that commit
    blobs: tuple[BlobEntry, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def exists(self) -> bool:
        return self.tree is not None


def short(sha: str) -> str:
    return sha[:12]


class Repository:
    """A repository opened read-only for the lifetime of one run (use as a context manager)."""

    def __init__(self, path: Path) -> None:
        try:
            self._repo = git.Repo(path, search_parent_directories=True)
        except git.NoSuchPathError:
            raise GitError(f"{path}: no such folder (--repo)") from None
        except git.InvalidGitRepositoryError:
            raise GitError(f"{path}: not a git repository (or any of its parents); pass the "
                           "repository with --repo") from None
        except git.GitError as exc:
            raise GitError(f"{path}: cannot open the git repository: {_git_message(exc)}") from None
        self._repo.git.update_environment(**_NO_REPLACE)
        tree_dir = self._repo.working_tree_dir
        self.root: Path | None = Path(tree_dir) if tree_dir is not None else None
        self._blob_cache: dict[str, bytes] = {}
        self._folders: dict[tuple[str, str, tuple[str, ...], int], Folder] = {}

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._repo.close()  # ends gitpython's persistent `git cat-file` processes

    # ------------------------------------------------------------ commits

    def commit(self, ref: str, option: str) -> str:
        """The commit a ref names (branch, tag, sha, `HEAD~2`, ...), as a full sha, resolved exactly as
        git resolves it; a name git finds ambiguous (a tag and a branch both called `origin/main`)
        is an error, since git would silently pick the tag (SPEC §6)."""
        if not ref or ref.startswith("-"):
            raise GitError(f"{option} {ref!r}: not a git ref")
        # The warning is what git itself says about ambiguity; force it on whatever the user's config.
        status, out, err = self._git("-c", "core.warnAmbiguousRefs=true", "rev-parse", "--verify",
                                     "--end-of-options", f"{ref}^{{commit}}")
        # A full object id always names the object, whatever refs share its name (git warns, then takes
        # the object): refusing it would let anyone who can push a tag named like the base commit's id
        # stop every pull request's gate (exit 2), when that id is exactly what CI passes.
        ambiguous = [] if _SHA.fullmatch(ref.lower()) else _AMBIGUOUS.findall(err)
        if ambiguous:
            names = "; ".join(f"{name!r} names {' and '.join(self._candidates(name))}" for name in ambiguous)
            raise GitError(f"{option} {ref!r}: ambiguous: {names}; pass a full ref name (refs/heads/..., "
                           "refs/remotes/...) or the commit id")
        if status == 0 and _SHA.fullmatch(out.strip()):
            return out.strip()
        hint = ""
        if self.is_shallow():
            hint = f"; this is a shallow clone, which may lack it: {FETCH_HINT}"
        elif "/" in ref:
            hint = f"; fetch it first (git fetch {ref.split('/', 1)[0]})"
        raise GitError(f"{option} {ref!r}: unknown git ref in {self._where()}{hint}")

    def _candidates(self, name: str) -> list[str]:
        """What an ambiguous name can mean, by git's own lookup rules (git help revisions)."""
        rules = [f"refs/{name}", f"refs/tags/{name}", f"refs/heads/{name}", f"refs/remotes/{name}",
                 f"refs/remotes/{name}/HEAD"]
        _, out, _ = self._git("for-each-ref", "--format=%(refname)", "--", *rules)
        found = [line for line in out.splitlines() if line in rules]
        if re.fullmatch(r"[A-Z_]+", name) and (Path(self._repo.git_dir) / name).is_file():
            found.insert(0, name)
        if re.fullmatch(r"[0-9a-fA-F]{4,64}", name):
            found.append(f"the object {name}")
        return found or [name]

    def _git(self, *args: str) -> tuple[int, str, str]:
        """(status, stdout, stderr) of one git command, never raising on a failing status."""
        status, out, err = self._repo.git.execute(["git", *args], with_extended_output=True,
                                                  with_exceptions=False)
        return int(status), str(out), str(err)

    def merge_base(self, base: str, head: str, base_ref: str, head_ref: str) -> str:
        """The best common ancestor of base and head: the head's branch point from base."""
        try:
            found = self._repo.merge_base(base, head)
        except git.GitError as exc:
            raise GitError(f"git merge-base {base_ref} {head_ref}: {_git_message(exc)}") from None
        if found:
            return found[0].hexsha
        if self.is_shallow():
            raise GitError(f"no merge base of {base_ref} and {head_ref} in this shallow clone: the history "
                           f"that joins them was not fetched; {FETCH_HINT}")
        raise GitError(f"{base_ref} and {head_ref} have no merge base (unrelated histories): there is no "
                       "branch point to compare the change against")

    def first_parent_log(self, head: str, since: dt.datetime | None = None, after: str | None = None
                         ) -> list[tuple[str, dt.datetime]]:
        """(sha, commit time in UTC) along head's first parents, oldest first: those committed at or
        after `since`, or those after commit `after` (exclusive) when it is given."""
        rev = f"{after}..{head}" if after else head
        args = ["--first-parent", "--format=%H %ct", rev]
        if since is not None and after is None:
            args.insert(0, f"--since={int(since.timestamp())}")
        try:
            out: str = self._repo.git.rev_list(*args)
        except git.GitError as exc:
            raise GitError(f"git rev-list {rev}: {_git_message(exc)}") from None
        commits = []
        for line in out.splitlines():
            if line.startswith("commit "):
                continue  # rev-list --format prints a header line per commit
            sha, _, stamp = line.partition(" ")
            commits.append((sha, dt.datetime.fromtimestamp(int(stamp), dt.UTC)))
        return list(reversed(commits))

    def uncommitted(self, paths: Sequence[str]) -> list[tuple[str, str]]:
        """(what, path) of every file under `paths` whose work-tree state differs from HEAD: modified,
        added, deleted, renamed, untracked or ignored (`git status`); empty without a work tree."""
        if self.root is None:
            return []
        status, out, err = self._git("status", "--porcelain=v1", "-z", "--untracked-files=all",
                                     "--ignored=matching", "--no-renames", "--", *(p or "." for p in paths))
        if status != 0:
            raise GitError(f"git status: {err.strip()}")
        found = []
        for record in out.split("\0"):
            if len(record) > 3:
                code, path = record[:2], record[3:]
                found.append((_STATUS.get(code.strip()[:1], "changed"), path))
        return found

    def is_shallow(self) -> bool:
        try:
            answer: str = self._repo.git.rev_parse("--is-shallow-repository")
            return answer.strip() == "true"
        except git.GitError:  # git older than 2.15: look for the file it keeps the grafts in
            return (Path(self._repo.git_dir) / "shallow").exists()

    def remote_url(self, name: str = "origin") -> str | None:
        """The URL of a remote, if the repository has it (for links to the files it holds)."""
        try:
            url: str = self._repo.git.config("--get", f"remote.{name}.url")
            return url.strip() or None
        except git.GitError:
            return None

    # ------------------------------------------------------------ folders

    def relative_folder(self, folder: Path, option: str) -> str:
        """An option's folder as a path relative to the repository root ("" for the root)."""
        if folder.is_absolute():
            if self.root is None:
                raise GitError(f"{option} {folder}: a bare repository has no working tree; give the folder "
                               "relative to the repository root")
            # The path below the repository root is taken as written, never through the work tree's
            # symlinks: the work tree is the change under review, and a link there (`policies -> weak`)
            # must not choose which folder git reads. Only the way to the root may go through links.
            absolute = Path(posixpath.normpath(folder.as_posix()))
            real_root = self.root.resolve()
            anchor = next((a for a in reversed((absolute, *absolute.parents)) if a.resolve() == real_root), None)
            if anchor is None:
                raise GitError(f"{option} {folder}: not inside the repository {self.root}")
            rel = absolute.relative_to(anchor).as_posix()
        else:
            rel = posixpath.normpath(folder.as_posix())
        rel = "" if rel == "." else rel
        if rel == ".." or rel.startswith("../") or rel.startswith("/"):
            raise GitError(f"{option} {folder}: not inside the repository (paths are relative to its root)")
        return rel

    def folder(self, commit: str, path: str, suffixes: Collection[str], limit: int) -> Folder:
        """The files under `path` at `commit` whose names count (checker.treewalk: the same rules as
        on disk). Problems, not exceptions, for what cannot be read safely: a name that is not
        UTF-8, a symlink that loops, is broken or leaves the folder, a submodule, a blob over
        `limit` bytes (its size is checked before anything is read)."""
        memo = (commit, path, tuple(suffixes), limit)
        if memo not in self._folders:  # the base tip is often the merge base itself: listed once
            self._folders[memo] = self._list_folder(commit, path, suffixes, limit)
        return self._folders[memo]

    def _list_folder(self, commit: str, path: str, suffixes: Collection[str], limit: int) -> Folder:
        root = self._repo.commit(commit).tree
        tree = _subtree(root, path, commit)
        if tree is None:
            return Folder(path, None)
        entries = [e for e in self._ls_tree(commit, path) if not _hidden(e.path, path)]
        blobs: list[BlobEntry] = []
        problems: list[Problem] = []
        for entry in entries:
            relevant = treewalk.counts(entry.path, suffixes)
            if not entry.valid_name:
                problems.append(Problem(entry.path, None, "file name is not valid UTF-8; rename it"))
            elif entry.mode == SUBMODULE_MODE:
                problems.append(Problem(entry.path, None, "a git submodule: its files are not in this "
                                                          "repository's history, so they cannot be checked"))
            elif entry.mode == SYMLINK_MODE:
                message = treewalk.link_problem(entry.path, path, suffixes, lambda p: _kind(root, p),
                                                lambda p: self._link_target(root, p))
                if message:
                    problems.append(Problem(entry.path, None, message))
            elif relevant:
                if entry.size > limit:
                    problems.append(Problem(entry.path, None, f"file is {entry.size:,} bytes, over the limit of "
                                                              f"{limit:,} (CHECKER_MAX_FILE_BYTES); not read"))
                else:
                    blobs.append(BlobEntry(entry.path, entry.sha))
        return Folder(path, tree.hexsha, tuple(sorted(blobs, key=lambda b: b.path)), tuple(problems))

    def _link_target(self, root: Tree, path: str) -> str:
        """The text of the symlink at `path` in a commit's tree (each blob read once per run)."""
        item = _lookup(root, path)
        assert item is not None  # treewalk asks only for paths it found to be links
        return self.read([item.hexsha])[item.hexsha].decode("utf-8", "surrogateescape")

    def _ls_tree(self, commit: str, path: str) -> list[_Entry]:
        """`git ls-tree -r -l -z`: every entry below `path` with its mode, id and size, in one call
        (asking for each blob's size separately costs a round trip per file)."""
        args = ["-r", "-l", "-z", "--full-tree", commit, *(["--", path] if path else [])]
        try:
            out = self._repo.git.ls_tree(*args, stdout_as_string=False, env=_LITERAL_PATHS)
        except git.GitError as exc:
            raise GitError(f"cannot list {path or '.'} at {short(commit)}: {_git_message(exc)}") from None
        entries = []
        for record in cast(bytes, out).split(b"\0"):
            if not record:
                continue
            meta, _, raw_name = record.partition(b"\t")
            mode, _kind, sha, size = meta.split()
            name, valid = treewalk.decode_name(raw_name)
            entries.append(_Entry(name, int(mode, 8), sha.decode(), int(size) if size != b"-" else 0, valid))
        return entries

    # ------------------------------------------------------------ blobs

    def read(self, shas: Iterable[str]) -> dict[str, bytes]:
        """Blob contents by id, each read from git once per run, all missing ones in one batch."""
        wanted = list(dict.fromkeys(shas))
        missing = [sha for sha in wanted if sha not in self._blob_cache]
        if missing:
            self._blob_cache.update(self._cat_file(missing))
        return {sha: self._blob_cache[sha] for sha in wanted}

    def _cat_file(self, shas: Sequence[str]) -> dict[str, bytes]:
        """`git cat-file --batch` over a file of ids: one process, no round trip per blob."""
        with tempfile.TemporaryFile() as ids:
            ids.write("".join(f"{sha}\n" for sha in shas).encode())
            ids.seek(0)
            try:
                out = self._repo.git.cat_file("--batch", istream=ids, stdout_as_string=False,
                                              strip_newline_in_stdout=False)
            except git.GitError as exc:
                raise GitError(f"cannot read blobs: {_git_message(exc)}") from None
        data = cast(bytes, out)
        found: dict[str, bytes] = {}
        pos = 0
        for sha in shas:
            end = data.index(b"\n", pos)
            header = data[pos:end].split()
            if len(header) != 3 or header[0].decode() != sha:
                raise GitError(f"cannot read blob {sha}: {data[pos:end].decode(errors='replace')}")
            size = int(header[2])
            found[sha] = data[end + 1:end + 1 + size]
            pos = end + 1 + size + 1  # the content is followed by a newline
        return found

    def remember(self, data: Iterable[bytes]) -> list[str]:
        """Blob ids of contents that are not in git (the work tree), kept so that `read` serves them."""
        shas = []
        for blob in data:
            sha = hashlib.sha1(b"blob %d\0" % len(blob) + blob, usedforsecurity=False).hexdigest()
            self._blob_cache[sha] = blob
            shas.append(sha)
        return shas

    def read_folder(self, folder: Folder) -> dict[str, bytes]:
        """{display path: bytes} for every blob of a folder listing."""
        data = self.read(b.sha for b in folder.blobs)
        return {b.path: data[b.sha] for b in folder.blobs}

    def _where(self) -> str:
        return str(self.root or self._repo.git_dir)


def _git_message(exc: git.GitError) -> str:
    stderr = getattr(exc, "stderr", "") or ""
    text = stderr.strip().removeprefix("stderr:").strip().strip("'").strip()
    return text or str(exc)


class _Item(Protocol):
    """A Blob, Tree or Submodule of gitpython, as far as we use it."""

    type: str
    mode: int
    hexsha: str


@dataclass(frozen=True)
class _Entry:
    path: str
    mode: int
    sha: str
    size: int
    valid_name: bool = True


# Folder names are paths, not patterns (a folder named `*` must not match everything).
_LITERAL_PATHS = {"GIT_LITERAL_PATHSPECS": "1"}
# Replace refs (refs/replace/*) would let whoever can push one swap any commit or tree for another;
# and `git status` must not refresh the index (it would write it, and nothing here writes).
_NO_REPLACE = {"GIT_NO_REPLACE_OBJECTS": "1", "GIT_OPTIONAL_LOCKS": "0"}
_STATUS = {"M": "modified", "A": "added", "D": "deleted", "R": "renamed", "C": "copied", "T": "type changed",
           "U": "unmerged", "?": "untracked", "!": "ignored"}
_AMBIGUOUS = re.compile(r"warning: refname '(.*)' is ambiguous\.")
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def _hidden(path: str, folder: str) -> bool:
    """A file in a `.git` folder below `folder` (skipped as on disk; every other file is read,
    hidden ones too: SPEC §2 says every *.yaml under the folder)."""
    rel = path[len(folder) + 1:] if folder else path
    return ".git" in rel.split("/")[:-1]


def _lookup(root: Tree, path: str) -> _Item | None:
    """The entry at `path` below `root` without following symlinks; None when absent."""
    item: object = root
    for part in [p for p in path.split("/") if p]:
        if not isinstance(item, Tree):
            return None
        try:
            item = item[part]
        except KeyError:
            return None
    return cast(_Item, item)


def _subtree(root: Tree, path: str, commit: str) -> Tree | None:
    """The tree at `path`; None when absent; GitError when a file or symlink is in the way."""
    walked: list[str] = []
    tree = root
    for part in [p for p in path.split("/") if p]:
        walked.append(part)
        try:
            item = cast(_Item, tree[part])
        except KeyError:
            return None
        if item.type != "tree":
            what = "a symlink" if item.mode == SYMLINK_MODE else "a file"
            raise GitError(f"{'/'.join(walked)} is {what} at {short(commit)}, not a folder; pass the "
                           "folder itself")
        tree = cast(Tree, item)
    return tree


def _kind(root: Tree, path: str) -> treewalk.Kind | None:
    """What is at `path` in a commit's tree, links not followed (for treewalk.resolve)."""
    item = _lookup(root, path)
    if item is None:
        return None
    if item.type == "tree":
        return "dir"
    if item.mode == SYMLINK_MODE:
        return "link"
    return "file" if item.type == "blob" else "other"
