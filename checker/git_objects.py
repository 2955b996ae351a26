"""Reading folders and files from git objects: trees listed with `ls-tree`, blobs read by id in
one batch (`cat-file --batch`). checker.git's Repository reads through this; nothing here writes.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
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


def blob_id(data: bytes) -> str:
    """The id git gives these bytes as a blob."""
    h = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    h.update(data)  # not header + data: that would copy every file once more
    return h.hexdigest()


def listing_digest(listing: Iterable[tuple[str, str]]) -> str:
    """One digest of a folder's (path, blob id) pairs, whatever their order."""
    h = hashlib.sha256()
    for path, sha in sorted(listing):
        for part in (path.encode("utf-8", "surrogateescape"), sha.encode()):
            h.update(len(part).to_bytes(8, "little") + part)
    return h.hexdigest()


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


class ObjectReader:
    """Folder listings and blob contents of one opened repository, each read from git once per run."""

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo
        self._blob_cache: dict[str, bytes] = {}
        self._folders: dict[tuple[str, str, tuple[str, ...], int], Folder] = {}

    # ------------------------------------------------------------ folders

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
            raise GitError(f"cannot list {path or '.'} at {short(commit)}: {git_message(exc)}") from None
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
                raise GitError(f"cannot read blobs: {git_message(exc)}") from None
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
            sha = blob_id(blob)
            self._blob_cache[sha] = blob
            shas.append(sha)
        return shas

    def read_folder(self, folder: Folder) -> dict[str, bytes]:
        """{display path: bytes} for every blob of a folder listing."""
        data = self.read(b.sha for b in folder.blobs)
        return {b.path: data[b.sha] for b in folder.blobs}


def git_message(exc: git.GitError) -> str:
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
