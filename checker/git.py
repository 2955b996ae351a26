"""Every git access of the checker, through gitpython; no other module touches git (but
checker.git_objects, which reads the trees and blobs for the Repository here).

`checker diff` reads both sides of a change straight from git objects: commits are resolved,
folders are listed from tree objects (`ls-tree`), and files are read as blobs by id, in one
batch (`cat-file --batch`). Nothing here checks out, resets or writes the working tree, the
index or any ref. Every failure becomes a GitError with a message a person can act on.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from checker.errors import GitError

# Folder, BlobEntry and short are used as git.Folder, ... by the commands: exported from here too.
from checker.git_objects import BlobEntry as BlobEntry
from checker.git_objects import Folder as Folder
from checker.git_objects import ObjectReader, git_message
from checker.git_objects import short as short

try:
    import git
except ImportError as exc:  # gitpython refuses to load when there is no git executable
    raise GitError(f"git is not available: {exc}") from None

FETCH_HINT = ("fetch full history: actions/checkout with fetch-depth: 0, or git fetch --unshallow "
              "(and fetch the base branch)")


class Repository(ObjectReader):
    """A repository opened read-only for the lifetime of one run (use as a context manager)."""

    def __init__(self, path: Path) -> None:
        try:
            repo = git.Repo(path, search_parent_directories=True)
        except git.NoSuchPathError:
            raise GitError(f"{path}: no such folder (--repo)") from None
        except git.InvalidGitRepositoryError:
            raise GitError(f"{path}: not a git repository (or any of its parents); pass the "
                           "repository with --repo") from None
        except git.GitError as exc:
            raise GitError(f"{path}: cannot open the git repository: {git_message(exc)}") from None
        repo.git.update_environment(**_NO_REPLACE)
        super().__init__(repo)
        tree_dir = self._repo.working_tree_dir
        self.root: Path | None = Path(tree_dir) if tree_dir is not None else None

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
            raise GitError(f"git merge-base {base_ref} {head_ref}: {git_message(exc)}") from None
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
            raise GitError(f"git rev-list {rev}: {git_message(exc)}") from None
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


    # ------------------------------------------------------------ work tree

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

    def _where(self) -> str:
        return str(self.root or self._repo.git_dir)


# Replace refs (refs/replace/*) would let whoever can push one swap any commit or tree for another;
# and `git status` must not refresh the index (it would write it, and nothing here writes).
_NO_REPLACE = {"GIT_NO_REPLACE_OBJECTS": "1", "GIT_OPTIONAL_LOCKS": "0"}
_STATUS = {"M": "modified", "A": "added", "D": "deleted", "R": "renamed", "C": "copied", "T": "type changed",
           "U": "unmerged", "?": "untracked", "!": "ignored"}
_AMBIGUOUS = re.compile(r"warning: refname '(.*)' is ambiguous\.")
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
