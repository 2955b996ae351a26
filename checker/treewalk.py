"""Which entries under an inventory or policy folder are read, and which are errors (SPEC §2-§3).

One set of rules for any tree, so that `audit` (the folder on disk) and `diff` (a git tree) read the
same files and fail the same way. Pure: a tree is seen through two functions, `kind_of(path)`
(what is at that exact path, links not followed) and `target_of(path)` (a link's text).

- A file counts when its name ends with one of the suffixes, compared case-insensitively
  (`.YAML`, `.Yml`); hidden files and folders count like any other.
- A name that is not valid UTF-8 is an error.
- A symlink is followed as the operating system follows it (every component, at most
  MAX_LINK_HOPS links): a loop or a broken link is an error, whatever its name. So is a link whose
  final target is outside the folder, unless its name does not count and it leads to a file (a
  file of a kind never read, as checker.walk does on disk; an absolute target is outside the
  repository, where a git tree cannot tell a file from a folder, so it is an error). A link whose
  name counts must lead to a file whose name counts, which is read in its own right.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Collection
from typing import Literal

Kind = Literal["file", "dir", "link", "other"]
KindOf = Callable[[str], Kind | None]
MAX_LINK_HOPS = 40  # Linux's limit (ELOOP)


def counts(name: str, suffixes: Collection[str]) -> bool:
    """A file of the folder's kind: its name ends with a suffix, in any letter case."""
    lowered = name.lower()
    return any(lowered.endswith(suffix.lower()) for suffix in suffixes)


def decode_name(raw: bytes) -> tuple[str, bool]:
    """(name to show, valid): an invalid name is shown with its bad bytes escaped (\\xff)."""
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), False


def resolve(path: str, kind_of: KindOf, target_of: Callable[[str], str]) -> tuple[str, Kind] | str:
    """Follow the symlinks of a root-relative POSIX path: (real path, its kind), or why not:
    "loop", "broken" or "outside" (above the root, or an absolute target)."""
    pending = path.split("/")
    done: list[str] = []
    hops = 0
    kind: Kind | None = "dir"
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not done:
                return "outside"
            done.pop()
            continue
        if kind != "dir":
            return "broken"  # a component below a file
        here = "/".join([*done, part])
        kind = kind_of(here)
        if kind is None:
            return "broken"
        if kind == "link":
            hops += 1
            if hops > MAX_LINK_HOPS:
                return "loop"
            target = target_of(here)
            if target.startswith("/"):
                return "outside"
            pending = target.split("/") + pending
            kind = "dir"  # we are back in the link's folder
            continue
        done.append(part)
    final = "/".join(done)
    return final, (kind_of(final) if final else "dir") or "dir"


def inside(path: str, folder: str) -> bool:
    return not folder or path == folder or path.startswith(folder + "/")


def link_problem(path: str, folder: str, suffixes: Collection[str], kind_of: KindOf,
                 target_of: Callable[[str], str]) -> str | None:
    """What is wrong with the symlink at `path` (root-relative, below `folder`), or None."""
    target = target_of(path)
    found = resolve(path, kind_of, target_of)
    if found == "loop":
        return f"symlink loop (-> {target}); refusing to read it"
    if found == "broken":
        return f"broken symlink (-> {target})"
    name_counts = counts(posixpath.basename(path), suffixes)
    if isinstance(found, str) or not inside(found[0], folder):
        if not name_counts and not isinstance(found, str) and found[1] == "file":
            return None  # a link to some other file of the repository, of a kind never read
        return f"symlink leaves the folder (-> {target}); refusing to read it"
    real, kind = found
    if name_counts and not (kind == "file" and counts(posixpath.basename(real), suffixes)):
        # its target is not read in its own right, so its content would go unread
        suffix = suffix_of(path)
        return (f"a {suffix} symlink to something that is not a {suffix} file (-> {target}); link such files "
                "only to files of the same kind")
    return None


def suffix_of(path: str) -> str:
    return posixpath.splitext(path)[1] or path
