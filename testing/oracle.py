"""An independent reading of SPEC §3-§4 (default rule pack, person scope included) and §5 (waivers)
in plain Python.

Tests compare the checker against this oracle, so it deliberately imports nothing from
``checker``: a shared bug in a shared helper would make both sides agree on a wrong answer.
It assumes the inventory is valid (validation is the checker's job, tested elsewhere) and
reads it with PyYAML's safe loader.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

Finding = dict[str, Any]
Person = Mapping[str, Any]
Group = Mapping[str, Any]
Waiver = Mapping[str, Any]

# SPEC §4 verbatim, for tests that run before (or without) policies/data.yaml.
DEFAULT_POLICY_DATA: dict[str, Any] = {
    "data_classes": {
        "public": {"sensitive": False},
        "internal": {"sensitive": False},
        "user_pii": {"sensitive": True, "max_members": 200},
        "financial": {"sensitive": True, "max_members": 100},
        "government_id": {"sensitive": True, "max_members": 50, "employees_only": True, "review_max_age_days": 90},
        "biometric": {"sensitive": True, "max_members": 50, "employees_only": True, "review_max_age_days": 90},
        "minor_safety": {
            "sensitive": True,
            "max_members": 25,
            "employees_only": True,
            "chat_allowed": False,
            "review_max_age_days": 90,
        },
    },
    "jurisdictions": {
        "US": {"staff_locations": ["US"]},
        "EU": {"staff_locations": ["IE", "DE", "FR", "NL", "ES", "IT", "PL", "SE"]},
        "GB": {"staff_locations": ["GB", "IE"]},
        "SG": {"staff_locations": ["SG"]},
        "GLOBAL": {"staff_locations": ["US", "IE", "DE", "FR", "NL", "ES", "IT", "PL", "SE", "GB", "SG"]},
    },
    "training_max_age_days": 365,
    "review_max_age_days": 180,
    "max_sensitive_groups_per_person": 12,
}

CHAT_KINDS = frozenset({"chat", "channel", "mailing-list"})
POLICY_RULES = (
    "owner-location",
    "member-location",
    "subject-jurisdiction-missing",
    "sensitive-group-size",
    "non-employee-access",
    "minor-safety-in-chat",
    "departed-owner",
    "training-expired",
    "departed-member",
    "access-review-overdue",
    "sensitive-reach",
)
WAIVER_RULES = ("waiver-expired", "waiver-unused")

# libyaml's SafeLoader builds the same objects as yaml.safe_load, ten times faster, which
# matters when the oracle reads a 10,000-group synthetic org.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=_SAFE_LOADER)


# ---------------------------------------------------------------- loading


def load_policy_data(path: Path | None) -> dict[str, Any]:
    """policies/data.yaml when it exists (the shipped pack), else the SPEC copy above."""
    if path is not None and path.is_file():
        loaded = safe_load(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            return loaded
    return DEFAULT_POLICY_DATA


def load_inventory(inventory_dir: Path) -> tuple[dict[str, Person], dict[str, Group], list[Waiver]]:
    """People and groups by id, waivers in file order, from every *.yaml/*.yml below the folder."""
    people: dict[str, Person] = {}
    groups: dict[str, Group] = {}
    waivers: list[Waiver] = []
    paths = sorted([*inventory_dir.rglob("*.yaml"), *inventory_dir.rglob("*.yml")])
    for path in paths:
        doc = safe_load(path.read_text(encoding="utf-8")) or {}
        for person in doc.get("people") or []:
            people[person["id"]] = person
        for group in doc.get("groups") or []:
            if isinstance(group.get("reviewed"), dict) and True in group["reviewed"]:
                # PyYAML reads the key `on` as YAML 1.1's boolean true; SPEC §2 means the string.
                group["reviewed"]["on"] = group["reviewed"].pop(True)
            groups[group["id"]] = group
        waivers.extend(doc.get("waivers") or [])
    return people, groups, waivers


def iso(value: Any) -> str:
    """YAML gives unquoted dates as datetime.date; the SPEC speaks of YYYY-MM-DD strings."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(iso(value))


# ---------------------------------------------------------------- joining


def member_ids(group: Group) -> list[str]:
    """Listed members in order, then the owner if unlisted; each person once (SPEC §2/§3)."""
    ordered: list[str] = []
    for pid in [*(group.get("members") or []), group["owner"]]:
        if pid not in ordered:
            ordered.append(pid)
    return ordered


# ---------------------------------------------------------------- data-class facts


def class_specs(group: Group, policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [policy["data_classes"][c] for c in group.get("data_classes") or []]


def holds_sensitive(group: Group, policy: Mapping[str, Any]) -> bool:
    return any(spec.get("sensitive") is True for spec in class_specs(group, policy))


def employees_only(group: Group, policy: Mapping[str, Any]) -> bool:
    return any(spec.get("employees_only") is True for spec in class_specs(group, policy))


def chat_forbidden(group: Group, policy: Mapping[str, Any]) -> bool:
    # chat_allowed defaults to allowed: only an explicit false forbids chat-like kinds.
    return any(spec.get("chat_allowed") is False for spec in class_specs(group, policy))


def size_limit(group: Group, policy: Mapping[str, Any]) -> int | None:
    """Smallest max_members among the group's classes; None when no class sets one."""
    limits = [spec["max_members"] for spec in class_specs(group, policy) if "max_members" in spec]
    return min(limits) if limits else None


def approved_locations(group: Group, policy: Mapping[str, Any]) -> set[str]:
    """Locations every declared jurisdiction approves (an intersection, so US+EU approves nobody)."""
    sets = [set(policy["jurisdictions"][j]["staff_locations"]) for j in group["subject_jurisdictions"]]
    return set.intersection(*sets)


def days_overdue(last: Any, as_of: dt.date, max_age_days: int) -> int | None:
    """None when `last` is on record and within the limit; 0 when it is missing or after as_of (SPEC §4:
    not on record, and no measure); else how many days past the limit it is."""
    if last is None or to_date(last) > as_of:
        return 0
    over = (as_of - to_date(last)).days - max_age_days
    return over if over > 0 else None


def training_overdue(person: Person, as_of: dt.date, max_age_days: int) -> int | None:
    return days_overdue((person.get("trainings") or {}).get("privacy"), as_of, max_age_days)


def review_limit(group: Group, policy: Mapping[str, Any]) -> int:
    """The smallest review age among the group's sensitive classes (each its own, else the top-level one)."""
    default = policy["review_max_age_days"]
    return min(spec.get("review_max_age_days", default) for spec in class_specs(group, policy)
               if spec.get("sensitive") is True)


# ---------------------------------------------------------------- rules


def finding(rule: str, level: str, group_id: str | None, person: str | None = None,
            measure: int | None = None) -> Finding:
    return {
        "rule": rule,
        "level": level,
        "group": group_id,
        "person": person,
        "waived": False,
        "waiver": None,
        "measure": measure,
    }


def group_findings(
    group: Group, people: Mapping[str, Person], policy: Mapping[str, Any], as_of: dt.date
) -> list[Finding]:
    """Every policy finding SPEC §4 gives for one group, before waivers."""
    gid = group["id"]
    owner = people[group["owner"]]
    members = [people[pid] for pid in member_ids(group)]
    sensitive = holds_sensitive(group, policy)
    out: list[Finding] = []

    if sensitive:
        if group.get("subject_jurisdictions"):
            approved = approved_locations(group, policy)
            if owner["location"] not in approved:
                out.append(finding("owner-location", "deny", gid))
            out.extend(
                finding("member-location", "deny", gid, m["id"])
                for m in members
                if m["id"] != owner["id"] and m["location"] not in approved
            )
        else:
            out.append(finding("subject-jurisdiction-missing", "deny", gid))

    limit = size_limit(group, policy)
    if limit is not None and len(members) > limit:
        out.append(finding("sensitive-group-size", "deny", gid, measure=len(members) - limit))

    if employees_only(group, policy):
        out.extend(
            finding("non-employee-access", "deny", gid, m["id"])
            for m in members
            if m["employment"] != "employee"
        )

    if group["kind"] in CHAT_KINDS and chat_forbidden(group, policy):
        out.append(finding("minor-safety-in-chat", "deny", gid))

    # A status given as null (an unknown platform account, SPEC §8) fails closed, like "departed".
    if sensitive and owner.get("status", "active") in ("departed", None):
        out.append(finding("departed-owner", "deny", gid))

    if sensitive:
        max_age = int(policy["training_max_age_days"])
        for m in members:
            over = training_overdue(m, as_of, max_age)
            if over is not None:
                out.append(finding("training-expired", "warn", gid, m["id"], measure=over or None))

    level = "deny" if sensitive else "warn"
    out.extend(
        finding("departed-member", level, gid, m["id"])
        for m in members
        if m["id"] != owner["id"] and m.get("status", "active") in ("departed", None)
    )

    if sensitive:
        over = days_overdue((group.get("reviewed") or {}).get("on"), as_of, review_limit(group, policy))
        if over is not None:
            out.append(finding("access-review-overdue", "warn", gid, measure=over or None))
    return out


def person_findings(
    people: Mapping[str, Person], groups: Mapping[str, Group], policy: Mapping[str, Any]
) -> list[Finding]:
    """The person-scope findings (SPEC §3/§4): group None, person set."""
    reach: dict[str, int] = {}
    for group in groups.values():
        if holds_sensitive(group, policy):
            for pid in member_ids(group):
                reach[pid] = reach.get(pid, 0) + 1
    limit = policy["max_sensitive_groups_per_person"]
    return [finding("sensitive-reach", "warn", None, pid, measure=n)
            for pid, n in sorted(reach.items()) if pid in people and n > limit]


# ---------------------------------------------------------------- waivers


def waiver_in_force(waiver: Waiver, as_of: dt.date) -> bool:
    """A waiver holds through its expires day."""
    return as_of <= to_date(waiver["expires"])


def waiver_matches(waiver: Waiver, f: Finding) -> bool:
    if f["rule"] in WAIVER_RULES:
        return False
    if (waiver["rule"], waiver["group"]) != (f["rule"], f["group"]):
        return False
    return waiver.get("person") is None or waiver["person"] == f["person"]


def apply_waivers(findings: list[Finding], waivers: Iterable[Waiver], as_of: dt.date) -> list[Finding]:
    """Mark waived findings and add waiver-expired / waiver-unused warnings (SPEC §5).

    When several waivers in force match one finding, the lowest waiver id is reported: the
    SPEC leaves this open, and the example and synthetic orgs never overlap waivers.
    """
    ordered = sorted(waivers, key=lambda w: str(w["id"]))
    in_force = [w for w in ordered if waiver_in_force(w, as_of)]
    used: set[str] = set()
    out: list[Finding] = []
    for f in findings:
        matching = [w for w in in_force if waiver_matches(w, f)]
        used.update(str(w["id"]) for w in matching)
        if matching:
            f = {**f, "waived": True, "waiver": str(matching[0]["id"])}
        out.append(f)
    for w in ordered:
        wid = str(w["id"])
        if not waiver_in_force(w, as_of):
            out.append({**finding("waiver-expired", "warn", w["group"]), "waiver": wid})
        elif wid not in used:
            out.append({**finding("waiver-unused", "warn", w["group"]), "waiver": wid})
    return out


# ---------------------------------------------------------------- entry point


def sort_key(f: Finding) -> tuple[str, str, str, str]:
    return (f["rule"], f["group"] or "", f["person"] or "", f["waiver"] or "")


def expected_findings(inventory_dir: Path, policy_data: dict[str, Any], as_of: str) -> list[dict[str, Any]]:
    """Every finding SPEC §4/§5 says the default pack + waivers produce, as dicts
    {"rule", "level", "group", "person", "waived", "waiver", "measure"} (person None for group-level,
    group None for person-scope; measure None where the rule gives none;
    for waiver-expired/waiver-unused: level 'warn', group = the waiver's group, person None,
    waiver = the waiver's id, waived False). Sorted by (rule, group, person, waiver)."""
    people, groups, waivers = load_inventory(Path(inventory_dir))
    day = dt.date.fromisoformat(as_of)
    raw: list[Finding] = []
    for group in groups.values():
        raw.extend(group_findings(group, people, policy_data, day))
    raw.extend(person_findings(people, groups, policy_data))
    return sorted(apply_waivers(raw, waivers, day), key=sort_key)


def count_by_rule(findings: Iterable[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["rule"]] = counts.get(f["rule"], 0) + 1
    return counts
