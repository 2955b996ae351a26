"""One side's count of findings under one cache entry, so that a diff that judges only what a change
can affect still counts the unchanged findings of what it cannot (issue 12.1).

A diff in the github, markdown or table format evaluates only the groups and people the change can
affect (checker.affected); the others' findings are identical on both sides, so unchanged by
construction. What the gate finds on a side is exactly the part of that side's complete findings
that belongs to the groups, people and waivers it evaluated (diff.side_findings leaves out the rest
and changes nothing else), so the unchanged findings it did not evaluate are the side's complete
counts minus the gate's own. A side's complete findings are a function of its inventory files (the
listing of paths and blob ids), the policies and engine (the engine's cache key), the date and the
checker's code (in every cache key): that is the entry's key, and its value is five numbers
(deny, warn and waived findings, groups, people), whatever the organisation's size. A run that
judged a side completely writes it: `checker audit` (its files hashed as git hashes blobs, so an
audit of the base checkout primes the diff) and a complete `checker diff`.

An entry that is absent, unreadable, or inconsistent with the side (other group or person counts,
fewer findings than the gate found itself) is a miss: the reports then say "not evaluated".
Introduced, resolved and the exit code never depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checker.cache import Cache, digest
from checker.git_objects import listing_digest
from checker.models import Finding, Inventory

SPACE = "side"
LEVELS = ("deny", "warn", "waived")


@dataclass(frozen=True)
class Side:
    """One side of a diff as judged: its listing of (path, blob id), inventory and findings."""

    listing: Sequence[tuple[str, str]]
    inventory: Inventory
    findings: Sequence[Finding]


def key(listing: Iterable[tuple[str, str]], policy_key: str, as_of: str) -> str:
    """The entry's key: the listing (paths relative to the repository root), policies and engine, date."""
    return digest(SPACE, policy_key, as_of, listing_digest(listing))


def tally(findings: Iterable[Finding]) -> dict[str, int]:
    """deny / warn (not waived) and waived, as the reports count them."""
    counts = dict.fromkeys(LEVELS, 0)
    for finding in findings:
        counts["waived" if finding.waived else finding.level] += 1
    return counts


def put(cache: Cache, entry: str, findings: Iterable[Finding], groups: int, people: int) -> None:
    """Store a side's complete counts (call only with every finding of the side)."""
    counts = tally(findings)
    cache.put_marshal(SPACE, {entry: (*(counts[level] for level in LEVELS), groups, people)})


def get(cache: Cache, entry: str) -> tuple[dict[str, int], int, int] | None:
    """(counts, groups, people) stored under this key, or None (absent or not what `put` writes)."""
    value: Any = cache.get_marshal(SPACE, [entry]).get(entry)
    if not (isinstance(value, tuple) and len(value) == len(LEVELS) + 2
            and all(type(n) is int and n >= 0 for n in value)):
        return None
    return dict(zip(LEVELS, value[:len(LEVELS)], strict=True)), value[-2], value[-1]


def unchanged_counts(cache: Cache, policy_key: str, as_of: str, sides: Sequence[Side | None], complete: bool,
                     skipped: Mapping[str, int]) -> dict[str, Any]:
    """What the diff's meta says about findings it did not evaluate. Complete: every side's entry is
    written, and nothing is said. Else, when something was left out: `unchanged_unlisted`, the counts
    of their findings from the first side whose entry is found, or `not_evaluated` (how many groups
    and people) when none is. A side is None when it has no inventory of its own (compared as empty)."""
    present = [side for side in sides if side is not None]
    if complete:
        for side in present:
            put(cache, key(side.listing, policy_key, as_of), side.findings, len(side.inventory.groups),
                len(side.inventory.people))
        return {}
    if not any(skipped.values()):
        return {}
    for side in present:
        found = get(cache, key(side.listing, policy_key, as_of))
        if found is None:
            continue
        counts, groups, people = found
        if (groups, people) != (len(side.inventory.groups), len(side.inventory.people)):
            continue  # not this side's: never a wrong count
        evaluated = tally(side.findings)
        rest = {level: counts[level] - evaluated[level] for level in LEVELS}
        if min(rest.values()) >= 0:
            return {"unchanged_unlisted": rest}
    return {"not_evaluated": dict(skipped)}
