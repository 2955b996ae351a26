"""Walk an inventory or policy folder on disk: every file that is read, and why any other is refused.

One walker for both folders, with the rules `diff` applies to the same folders in git (SPEC §2):
hidden files and folders are read (only `.git` folders are not); names are matched case-insensitively;
a broken link, a symlink loop, a link that leaves the folder (unless it names a file of a kind never
read), a non-regular file and a name that is not valid UTF-8 are errors. A symlink inside the folder
is not read itself: its target is read in its own right, so a link with a wanted name must point at a
file with a wanted name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from checker.errors import Problem

SKIPPED_FOLDERS = frozenset({".git"})


@dataclass(frozen=True)
class Found:
    shown: str  # as users see it, e.g. inventories/groups/ops.yaml
    path: Path
    size: int


def shown_name(name: str) -> str:
    """A file name fit to print: bytes that are not UTF-8 as \\xNN, never a lone surrogate."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _valid_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.fsdecode's surrogate escapes for bytes that are not UTF-8
        return False
    return True


def walk(root: Path, display_root: str, wanted: Callable[[str], bool], what: str, kind: str
         ) -> tuple[list[Found], list[Problem]]:
    """The files under `root` whose names are `wanted`, sorted, and every problem of the folder.
    `what` names the folder in messages ("inventory", "policy"), `kind` a wanted file ("YAML file")."""
    real_root = root.resolve()
    found: list[Found] = []
    problems: list[Problem] = []

    def shown(path: Path) -> str:
        rel = shown_name(path.relative_to(root).as_posix())
        return f"{display_root.rstrip('/')}/{rel}" if display_root not in ("", ".") else rel

    def unreadable(error: OSError) -> None:
        where = shown(Path(error.filename)) if error.filename else display_root
        problems.append(Problem(where, None, f"cannot read this folder: {error.strerror or error}"))

    for dirpath, dirnames, _ in os.walk(root, followlinks=False, onerror=unreadable):
        here = Path(dirpath)
        bad = [d for d in dirnames if not _valid_utf8(d)]
        problems += [Problem(shown(here / d), None, "folder name is not valid UTF-8; rename it") for d in bad]
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_FOLDERS and d not in bad)
        # scandir's entries carry their type and size, so a file costs no extra stat calls.
        try:
            with os.scandir(dirpath) as scanned:
                entries = sorted(scanned, key=lambda e: e.name)
        except OSError as exc:
            unreadable(exc)
            continue
        folder = shown(here) if here != root else None  # what each file's shown path starts with
        for entry in entries:
            path = here / entry.name
            if entry.is_dir(follow_symlinks=False):
                continue
            if not _valid_utf8(entry.name):
                problems.append(Problem(shown(path), None, "file name is not valid UTF-8; rename it"))
                continue
            if entry.is_symlink():
                problem = _link_problem(path, shown(path), real_root, wanted, what, kind)
                if problem:
                    problems.append(problem)
                continue
            if not entry.is_file(follow_symlinks=False):
                problems.append(Problem(shown(path), None, "not a regular file (a pipe, socket or device); "
                                                           "refusing to read it"))
            elif wanted(entry.name):
                name = f"{folder}/{shown_name(entry.name)}" if folder is not None else shown(path)
                found.append(Found(name, path, entry.stat(follow_symlinks=False).st_size))
    return found, problems


def _link_problem(path: Path, shown: str, real_root: Path, wanted: Callable[[str], bool], what: str,
                  kind: str) -> Problem | None:
    try:
        link = os.readlink(path)
        target = path.resolve(strict=True)
    except FileNotFoundError:
        return Problem(shown, None, f"broken symlink (-> {shown_name(link)})")
    except RuntimeError:  # Python 3.11's "Symlink loop from ..."
        return Problem(shown, None, f"symlink loop (-> {shown_name(link)})")
    except OSError as exc:  # ELOOP on later Pythons, or a folder on the way that cannot be read
        return Problem(shown, None, f"cannot follow this symlink (-> {shown_name(link)}): {exc.strerror or exc}")
    inside = target.is_relative_to(real_root)
    if not inside:
        if not wanted(path.name) and target.is_file():
            return None  # a link to some other file, of a kind never read (as in git)
        return Problem(shown, None, f"symlink leaves the {what} folder (-> {shown_name(str(target))}); "
                                    "refusing to read it")
    if not wanted(path.name):
        return None  # its target, if wanted, is read in its own right
    skipped = SKIPPED_FOLDERS.intersection(target.relative_to(real_root).parts[:-1])
    if not (target.is_file() and wanted(target.name)) or skipped:
        # the link is not read itself and its target is not read in its own right: its content would go unread
        return Problem(shown, None, f"a {kind} symlink to something that is not a {kind} (-> {shown_name(link)}); "
                                    f"link {kind}s only to {kind}s")
    return None
