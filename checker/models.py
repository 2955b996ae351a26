"""Immutable values that flow through the pipeline: load -> join -> evaluate -> waive -> compare -> report."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

LEVELS = ("deny", "warn")
FAIL_ON = ("deny", "warn", "any", "never")
CHANGES = ("introduced", "worsened", "resolved", "unchanged")
# The changes that fail a diff at their level (SPEC §6-§7).
FAILING_CHANGES = ("introduced", "worsened")
# Rules the checker itself reports (SPEC §5); waivers never suppress them.
WAIVER_RULES = ("waiver-expired", "waiver-unused", "waiver-self-approved")
# How a change touched the waiver that would suppress a finding it introduces (SPEC §5).
WAIVER_CHANGES = ("added", "extended")


@dataclass(frozen=True, order=True, slots=True)  # one per person and group: kept small
class Location:
    file: str
    line: int


@dataclass(frozen=True)
class Person:
    id: str
    record: Mapping[str, Any]  # exactly what policies see as a member/owner (SPEC §3)
    location: Location  # the record's `id` line
    field_lines: Mapping[str, int] = field(default_factory=dict)
    # SPEC §2 identity on the platforms (not part of what policies see): matched against snapshots
    email: str | None = None
    accounts: Mapping[str, str] = field(default_factory=dict)  # platform -> account id

    @functools.cached_property
    def content_key(self) -> bytes:
        """A digest of the record: equal exactly when what policies see of this person is equal."""
        text = json.dumps(self.record, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).digest()


@dataclass(frozen=True)
class Group:
    id: str
    fields: Mapping[str, Any]  # platform, kind, data_classes, subject_jurisdictions, description
    owner: str
    members: tuple[str, ...]  # each member once, the owner included
    location: Location  # the group's `id` line
    member_lines: Mapping[str, int] = field(default_factory=dict)
    field_lines: Mapping[str, int] = field(default_factory=dict)
    data_class_lines: Mapping[str, int] = field(default_factory=dict)
    external_id: str | None = None  # SPEC §2: the platform's own id of the group (matched against snapshots)

    @property
    def data_classes(self) -> tuple[str, ...]:
        return tuple(self.fields.get("data_classes", ()))

    @functools.cached_property
    def content_key(self) -> bytes:
        """A digest of what policies see of the group itself (its members are keyed apart)."""
        text = json.dumps([self.id, self.fields, self.owner], separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).digest()


@dataclass(frozen=True)
class Waiver:
    id: str
    rule: str
    group: str
    person: str | None
    reason: str
    approved_by: str
    expires: str  # YYYY-MM-DD; holds through this day
    location: Location


@dataclass(frozen=True)
class Inventory:
    people: Mapping[str, Person]
    groups: Mapping[str, Group]
    waivers: Mapping[str, Waiver]
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleInfo:
    """A rule family and what its # METADATA says about it."""

    rule_id: str
    package: str
    file: str
    levels: tuple[str, ...]  # which of deny/warn the family defines
    title: str = ""
    description: str = ""
    remediation: str = ""
    severity: str = ""
    scope: str = "group"  # or "person": a person-scope family (package access.person.<name>, SPEC §3)


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str
    group: str | None  # None for a person-scope finding whose element names no group
    person: str | None
    message: str
    location: Location | None = None
    waived: bool = False
    waiver: str | None = None
    change: str | None = None
    # SPEC §3: how bad, when the policy's element says (compared in diff: a larger one is worsened)
    measure: int | float | None = None
    # diff: set when `waiver` is one the change adds or extends, which therefore suppresses nothing
    waiver_change: str | None = None

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """SPEC §7: (rule, group, person); the waiver id is part of it for the waiver rules."""
        waiver = self.waiver if self.rule in WAIVER_RULES else None
        return (self.rule, self.group or "", self.person or "", waiver or "")

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (self.group or "", self.rule, self.person or "", self.waiver or "", self.message)

    def with_(self, **changes: Any) -> Finding:
        return replace(self, **changes)


@dataclass(frozen=True)
class Engine:
    name: str
    version: str


@dataclass(frozen=True)
class RunResult:
    """A finished run, format-neutral. Reporters read it; nobody mutates it."""

    command: str
    as_of: str
    engine: Engine
    groups: int
    people: int
    findings: tuple[Finding, ...]
    rules: Mapping[str, RuleInfo] = field(default_factory=dict)
    # diff only: findings the head's policies would add/drop on the head inventory
    impact: tuple[Finding, ...] = ()
    policies_changed: bool = False
    meta: Mapping[str, Any] = field(default_factory=dict)  # base/head refs, inventory commit, ...
    fail_on: str = "deny"  # the run's --fail-on, so reports can say what fails it

    @property
    def present(self) -> tuple[Finding, ...]:
        """Findings present at the head (diff: not resolved)."""
        return tuple(f for f in self.findings if f.change != "resolved")

    def counts(self) -> dict[str, int]:
        present = self.present
        counts = {
            "groups": self.groups,
            "people": self.people,
            "deny": sum(1 for f in present if f.level == "deny" and not f.waived),
            "warn": sum(1 for f in present if f.level == "warn" and not f.waived),
            "waived": sum(1 for f in present if f.waived),
        }
        for change in CHANGES:
            counts[change] = sum(1 for f in self.findings if f.change == change)
        return counts

    def failing(self, fail_on: str) -> tuple[Finding, ...]:
        """Findings that fail the run at this --fail-on level."""
        if fail_on == "never":
            return ()
        levels = ("deny",) if fail_on == "deny" else LEVELS
        candidates = [f for f in self.present if not f.waived and f.level in levels]
        if self.command == "diff" and fail_on != "any":
            candidates = [f for f in candidates if f.change in FAILING_CHANGES]
        return tuple(candidates)

    def exit_code(self, fail_on: str) -> int:
        return 1 if self.failing(fail_on) else 0
