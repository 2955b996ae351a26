"""The compliance trend of `checker audit --history SINCE` (pure functions).

Every sample is judged by the same yardstick, the run's own policies and --as-of, so the trend
shows what changed in the inventory (and the result cache makes unchanged groups free).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from checker import dates
from checker.errors import CheckerError
from checker.models import Finding

STEPS = ("day", "week")
_RELATIVE = re.compile(r"^(\d+)([dw])$")
_DATE_LIKE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


class UsageError(CheckerError):
    """An option value that cannot be used."""


@dataclass(frozen=True)
class Since:
    """Where the history starts: a moment (from `90d`, `12w` or a date) or a git ref."""

    moment: dt.datetime | None = None
    ref: str | None = None


def parse_since(text: str, now: dt.datetime) -> Since:
    """`90d`, `12w`, `2026-09-01`, or anything else as a git ref."""
    match = _RELATIVE.match(text)
    if match:
        days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        start = (now - dt.timedelta(days=days)).date()
        return Since(moment=dt.datetime.combine(start, dt.time(), dt.UTC))
    if _DATE_LIKE.fullmatch(text):  # meant as a date: a wrong one is said so, not looked up as a git ref
        wrong = dates.problem(text)
        if wrong:
            raise UsageError(f"--history {text!r} {wrong} (SINCE is 90d, 12w, a YYYY-MM-DD date or a git ref)")
        return Since(moment=dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC))
    return Since(ref=text)


def bucket(moment: dt.datetime, step: str) -> dt.date:
    """The day, or the Monday of the ISO week, a commit time falls in (UTC)."""
    day = moment.astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday()) if step == "week" else day


def samples(commits: Sequence[tuple[str, dt.datetime]], step: str) -> list[tuple[dt.date, str]]:
    """The last commit of each day or week, oldest first (commits are oldest first)."""
    last: dict[dt.date, str] = {}
    for sha, moment in commits:
        last[bucket(moment, step)] = sha
    return sorted(last.items())


def counts(findings: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """Open (not waived) findings per rule and level."""
    out: dict[str, dict[str, int]] = {}
    for finding in findings:
        if finding.waived:
            continue
        per_rule = out.setdefault(finding.rule, {"deny": 0, "warn": 0})
        per_rule[finding.level] += 1
    return dict(sorted(out.items()))


def changes(before: Iterable[Finding], after: Iterable[Finding], date: str) -> list[dict[str, Any]]:
    """Findings opened and closed between two samples, by identity, open findings only."""
    old = {f.identity: f for f in before if not f.waived}
    new = {f.identity: f for f in after if not f.waived}
    rows = [_change(date, "opened", new[k]) for k in sorted(new.keys() - old.keys())]
    rows += [_change(date, "closed", old[k]) for k in sorted(old.keys() - new.keys())]
    return rows


def _change(date: str, change: str, finding: Finding) -> dict[str, Any]:
    return {"date": date, "change": change, "rule": finding.rule, "level": finding.level,
            "group": finding.group, "person": finding.person}


def series_point(date: dt.date, commit: str, findings: Sequence[Finding]) -> dict[str, Any]:
    return {"date": date.isoformat(), "commit": commit, "counts": counts(findings)}
