"""`checker import`: a snapshot -> edits of the inventory's YAML (SPEC §8), as a plan, then as texts.

Like Terraform's plan and apply: `plan` computes what changes as data (pure); `render` turns it
into new file texts (pure: old text in, new text out); the command prints them as a unified diff
(--dry-run) or writes them all at once. Edits are made on the text at the positions a round-trip
parse (ruamel.yaml) reports, one line range at a time, so every line the change does not touch
stays byte for byte as it was: comments, key order, quoting, flow or block style.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from checker.errors import CheckerError, Problem
from checker.models import Inventory
from checker.observed.match import Matching
from checker.snapshot import SnapshotPerson

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9 ._@+'()/-]*")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}


@dataclass(frozen=True)
class GroupEdit:
    group: str
    file: str
    add: tuple[str, ...]  # person ids to list, in the platform's order
    remove: tuple[str, ...]  # listed person ids the platform group does not hold
    owner: str | None  # the new owner, or None to leave it


@dataclass(frozen=True)
class NewGroup:
    id: str
    file: str
    external_id: str
    name: str
    kind: str
    owner: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    platform: str
    taken_at: str
    people_file: str
    new_people: tuple[tuple[str, SnapshotPerson], ...]  # (new person id, what the platform says)
    edits: tuple[GroupEdit, ...]
    new_groups: tuple[NewGroup, ...]
    skipped: tuple[str, ...] = field(default_factory=tuple)  # what could not be imported, and why

    @property
    def empty(self) -> bool:
        return not (self.new_people or self.edits or self.new_groups)


# ---------------------------------------------------------------- plan (pure)


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")
    return slug[:100] or "x"


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


def plan(inv: Inventory, matching: Matching, root: str, existing_files: set[str]) -> Plan:
    """What the inventory under `root` (a display path) must change to hold what the snapshot holds."""
    platform = matching.platform
    snap = matching.snapshot
    taken_ids = set(inv.people)
    new_ids: dict[str, str] = {}  # account -> new person id

    def pid(account: str) -> str:
        if account in matching.people:
            return matching.people[account]
        if account not in new_ids:
            observed = matching.people_by_account.get(account)
            local = observed.email.split("@")[0] if observed and observed.email else f"{platform}-{account}"
            new_ids[account] = _unique(_slug(local), taken_ids)
        return new_ids[account]

    edits: list[GroupEdit] = []
    new_groups: list[NewGroup] = []
    skipped: list[str] = []
    group_ids = set(inv.groups)
    files = set(existing_files)
    for platform_group in snap.groups:
        observed = list(dict.fromkeys(pid(a) for a in ((platform_group.owner,) if platform_group.owner else ())
                                      + platform_group.members))
        gid = matching.groups.get(platform_group.external_id)
        if gid is None:
            if not observed:
                skipped.append(f"{platform} group {platform_group.external_id} ({platform_group.name!r}): no owner "
                               "and no members, nothing to declare")
                continue
            slug = _slug(platform_group.name or platform_group.external_id)
            new_id = _unique(_slug(f"{platform}-{slug}"), group_ids)
            file = _free_file(f"{root}/groups/{platform}".removeprefix("./"), slug, files)
            owner = observed[0]
            new_groups.append(NewGroup(new_id, file, platform_group.external_id, platform_group.name,
                                       platform_group.kind, owner, tuple(observed)))
            continue
        group = inv.groups[gid]
        listed = [m for m in group.members if m in group.member_lines and group.member_lines[m] !=
                  group.field_lines.get("owner")]
        owner = pid(platform_group.owner) if platform_group.owner else group.owner
        implicit_owner = group.owner not in listed
        add = tuple(m for m in observed if m not in listed and not (implicit_owner and m == owner))
        remove = tuple(m for m in listed if m not in observed)
        new_owner = owner if owner != group.owner else None
        if add or remove or new_owner:
            edits.append(GroupEdit(gid, group.location.file, add, remove, new_owner))
    people = tuple((new_ids[a], matching.people_by_account.get(a) or SnapshotPerson(a)) for a in new_ids)
    return Plan(platform, snap.taken_at, f"{root}/people/imported-{platform}.yaml".removeprefix("./"), people,
                tuple(sorted(edits, key=lambda e: (e.file, e.group))), tuple(new_groups), tuple(skipped))


def _free_file(folder: str, stem: str, taken: set[str]) -> str:
    name, n = f"{folder}/{stem}.yaml", 1
    while name in taken:
        n += 1
        name = f"{folder}/{stem}-{n}.yaml"
    taken.add(name)
    return name


# ---------------------------------------------------------------- render (pure)


def scalar_text(value: str) -> str:
    """The value as a YAML scalar: plain where that reads back as the same string, else double-quoted."""
    plain = (_PLAIN.fullmatch(value) is not None and value == value.strip() and value.lower() not in _RESERVED
             and " #" not in value)
    return value if plain else json.dumps(value, ensure_ascii=False)


scalar_id = scalar_text


def render(plan_: Plan, texts: Mapping[str, str | None]) -> dict[str, str]:
    """file -> its new text, for every file the plan changes. `texts` holds each such file's
    current text (None: it does not exist)."""
    out: dict[str, str] = {}
    by_file: dict[str, list[GroupEdit]] = {}
    for edit in plan_.edits:
        by_file.setdefault(edit.file, []).append(edit)
    for file, edits in by_file.items():
        text = texts.get(file)
        if text is None:
            raise CheckerError([Problem(file, None, "the inventory file changed or vanished during the import")])
        out[file] = edit_groups(text, edits, file)
    if plan_.new_people:
        out[plan_.people_file] = append_people(texts.get(plan_.people_file), plan_, plan_.people_file)
    for group in plan_.new_groups:
        out[group.file] = new_group_text(group, plan_)
    return out


@functools.cache
def _round_trip() -> YAML:
    return YAML(typ="rt")  # made once: building it costs as much as parsing a small file


def _load(text: str, file: str) -> Any:
    try:
        return _round_trip().load(text)
    except YAMLError as exc:
        raise CheckerError([Problem(file, None, f"cannot parse it for editing: {exc}")]) from None


def edit_groups(text: str, edits: list[GroupEdit], file: str) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split("\n")
    doc = _load(text, file)
    records = {g["id"]: g for g in (doc.get("groups") or [])} if isinstance(doc, dict) else {}
    replacements: list[tuple[int, int, list[str]]] = []  # (first line, last line inclusive, new lines)
    for edit in edits:
        record = records.get(edit.group)
        if record is None:
            raise CheckerError([Problem(file, None, f"group {edit.group} is no longer in this file")])
        if edit.owner is not None:
            line, col = record.lc.value("owner")
            old = lines[line]
            token = _token_length(old, col)
            replacements.append((line, line, [old[:col] + scalar_id(edit.owner) + old[col + token:]]))
        if edit.add or edit.remove:
            replacements.append(_members_edit(lines, record, edit, newline))
    for first, last, new in sorted(replacements, reverse=True):
        lines[first:last + 1] = new
    return "\n".join(lines)


def _token_length(line: str, col: int) -> int:
    if line[col:col + 1] in ("'", '"'):
        quote = line[col]
        end = col + 1
        while end < len(line):
            if line[end] == quote and not (quote == '"' and line[end - 1] == "\\"):
                if quote == "'" and line[end + 1:end + 2] == "'":
                    end += 2
                    continue
                return end - col + 1
            end += 1
    match = re.match(r"[^\s#,\]}]+(?: [^\s#,\]}]+)*", line[col:].rstrip("\r"))
    return match.end() if match else 0


def _members_edit(lines: list[str], record: Any, edit: GroupEdit, newline: str) -> tuple[int, int, list[str]]:
    members = record["members"]
    cr = "\r" if newline == "\r\n" else ""
    kept = [str(m) for m in members if str(m) not in edit.remove]
    final = kept + list(edit.add)
    if members.fa.flow_style() or not members:
        line, col = record.lc.value("members")
        end_line, end_col = _closing_bracket(lines, line, col)
        tail = lines[end_line][end_col + 1:]
        return (line, end_line, [lines[line][:col] + "[" + ", ".join(scalar_id(m) for m in final) + "]" + tail])
    first, _ = members.lc.item(0)
    last, last_col = members.lc.item(len(members) - 1)
    removed_lines = {members.lc.item(i)[0] for i, m in enumerate(members) if str(m) in edit.remove}
    if not final:  # a block list emptied: `members: []`
        key_line, key_col = record.lc.key("members")
        return (key_line, last, [lines[key_line][:key_col] + "members: []" + cr])
    prefix = lines[last][:last_col]
    new = [lines[i] for i in range(first, last + 1) if i not in removed_lines]
    new += [prefix + scalar_id(m) + cr for m in edit.add]
    return (first, last, new)


def _closing_bracket(lines: list[str], line: int, col: int) -> tuple[int, int]:
    depth = 0
    for number in range(line, len(lines)):
        text = lines[number]
        start = col if number == line else 0
        for position in range(start, len(text)):
            char = text[position]
            if char == "#" and position > 0 and text[position - 1] in " \t":
                break  # a comment inside a multi-line flow list
            if char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
                if depth == 0:
                    return number, position
    raise CheckerError("a flow list without its closing bracket")


def _person_lines(person_id: str, observed: SnapshotPerson, platform: str) -> list[str]:
    lines = [f"  - id: {person_id}"]
    if observed.name:
        lines.append(f"    name: {scalar_text(observed.name)}")
    # location and employment only where the platform gives them: import never invents an attribute
    if observed.location:
        lines.append(f"    location: {observed.location}")
    if observed.employment:
        lines.append(f"    employment: {observed.employment}")
    if observed.status == "departed":
        lines.append("    status: departed")
    if observed.email:
        lines.append(f"    email: {scalar_text(observed.email)}")
    lines.append(f"    accounts: {{{platform}: {scalar_id(observed.account)}}}")
    return lines


def append_people(text: str | None, plan_: Plan, file: str) -> str:
    body = [line for pid, person in plan_.new_people for line in _person_lines(pid, person, plan_.platform)]
    if text is None:
        head = [f"# People found on {plan_.platform} whom no inventory record matched (checker import).",
                "# Where the platform does not say, location and employment are left out on purpose:",
                "# `checker validate` fails until someone who knows declares them.", "people:"]
        return "\n".join(head + body) + "\n"
    doc = _load(text, file)
    if not isinstance(doc, dict) or list(doc)[-1:] != ["people"] or doc["people"] is None \
            or doc["people"].fa.flow_style():
        raise CheckerError([Problem(file, None, "cannot append to it: `people` must be its last key, a block list")])
    newline = "\r\n" if "\r\n" in text else "\n"
    return text + ("" if text.endswith("\n") else newline) + newline.join(body) + newline


def new_group_text(group: NewGroup, plan_: Plan) -> str:
    lines = [f"# Found on {plan_.platform} (snapshot of {plan_.taken_at}) with no inventory counterpart.",
             "# Declare the classes of data it holds, and its subject jurisdictions where it holds sensitive data.",
             "groups:", f"  - id: {group.id}", f"    platform: {plan_.platform}",
             f"    external_id: {scalar_id(group.external_id)}", f"    kind: {group.kind}",
             f"    owner: {scalar_id(group.owner)}", "    members:"]
    lines += [f"      - {scalar_id(m)}" for m in group.members]
    lines.append("    data_classes: []")
    if group.name:
        lines.append(f"    description: {scalar_text(group.name)}")
    return "\n".join(lines) + "\n"

