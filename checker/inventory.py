"""Read inventory files, validate them, and build the Inventory model.

Three steps, so that `diff` can feed git blobs where `audit` feeds files on disk:
  read_tree (disk I/O) -> parse_source (pure, per file, cacheable) -> build (pure, across files).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import Any, TypeVar

from checker import countries, schema
from checker.errors import InputError, Problem
from checker.inventory_files import DEFAULT_MAX_FILE_BYTES as DEFAULT_MAX_FILE_BYTES
from checker.inventory_files import YAML_SUFFIXES as YAML_SUFFIXES
from checker.inventory_files import SourceFile as SourceFile
from checker.inventory_files import is_inventory_file as is_inventory_file
from checker.inventory_files import list_tree as list_tree
from checker.inventory_files import max_file_bytes as max_file_bytes
from checker.inventory_files import read_file as read_file
from checker.inventory_files import read_found as read_found
from checker.inventory_files import read_tree as read_tree
from checker.models import Group, Inventory, Location, Person, Waiver
from checker.observed.identity import identity_problems
from checker.record_lines import Lines as Lines
from checker.yamlload import Document, YamlProblem, parse

_Made = TypeVar("_Made", Person, Group)


@dataclass(frozen=True)
class ParsedFile:
    path: str
    doc: Document | None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Known:
    """What references are resolved against, besides the inventory itself."""

    data_classes: frozenset[str]
    jurisdictions: frozenset[str]
    rule_ids: frozenset[str] | None = None  # None: don't check waiver rules (no policies at hand)

    @classmethod
    def from_policy_data(cls, data: Mapping[str, Any], rule_ids: Iterable[str] | None = None) -> Known:
        return cls(frozenset(data.get("data_classes") or {}), frozenset(data.get("jurisdictions") or {}),
                   frozenset(rule_ids) if rule_ids is not None else None)


# ---------------------------------------------------------------- one file


def parse_source(source: SourceFile) -> ParsedFile:
    """Decode, parse and schema-check one file. Pure: the same bytes give the same result."""
    if len(source.data) > max_file_bytes():
        return ParsedFile(source.path, None, (Problem(source.path, None, "file is over the size limit"),))
    try:
        text = source.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = source.data[: exc.start].count(b"\n") + 1
        return ParsedFile(source.path, None, (Problem(source.path, line, f"not UTF-8 text ({exc.reason} "
                                                                          f"at byte {exc.start})"),))
    text = text.removeprefix("\ufeff")
    try:
        doc = parse(text)
    except YamlProblem as exc:
        return ParsedFile(source.path, None, (Problem(source.path, exc.line, exc.message),))
    if doc is None:
        return ParsedFile(source.path, None, (Problem(source.path, 1, "empty file: expected a mapping with "
                                                                      "people, groups or waivers"),))
    if not isinstance(doc.value, dict):
        return ParsedFile(source.path, None, (Problem(source.path, doc.line(()), "expected a mapping with "
                                                                                 "people, groups or waivers"),))
    return ParsedFile(source.path, doc, tuple(schema.validate(doc, source.path)))


# ---------------------------------------------------------------- across files


_NOUNS: dict[str, str] = {"people": "person", "groups": "group", "waivers": "waiver"}


@dataclass
class _Builder:
    known: Known
    people: dict[str, Person] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    waivers: dict[str, Waiver] = field(default_factory=dict)
    # Every id claimed, by records that built and by records with a field error alike, so that one bad
    # field is one error and not also an "unknown person" error wherever the record is referred to.
    claimed: dict[str, dict[str, Location]] = field(default_factory=lambda: {s: {} for s in _NOUNS})
    # References are checked once every file is in, so files may come in any order and each file's
    # document is dropped as soon as its records are built: groups whose owner was not listed (and so
    # was added as a member), the person references of what was not built, and waivers' records.
    owner_added: set[str] = field(default_factory=set)
    person_refs: list[tuple[str, int | None, str, object]] = field(default_factory=list)
    waiver_raw: list[tuple[str, dict[str, Any], dict[str, int], bool]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Problems that may be caused by records that could not be read at all, and those records' kinds.
    consequences: list[Problem] = field(default_factory=list)
    unreadable: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in _NOUNS})
    reuse: dict[int, tuple[Any, Person | Group]] | None = None

    def problem(self, file: str, line: int | None, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    def unknown(self, section: str, file: str, line: int | None, message: str) -> None:
        """A reference to an id no record claims: caused by an unreadable record, when there is one."""
        problem = Problem(file, line, message)
        (self.consequences if self.unreadable[section] else self.problems).append(problem)


def build(files: Iterable[ParsedFile], known: Known, reuse: dict[int, tuple[Any, Person | Group]] | None = None
          ) -> Inventory:
    """Join every file into one Inventory, or raise InputError with every problem found.

    Record by record: a record with a field error is not built, but its id is still known, so what
    refers to it is not an error too. References that may fail only because a file or record could
    not be read at all are listed after their cause, under "N further errors follow from it".

    `reuse` lets a caller that builds several inventories from mostly the same parsed files (the two
    sides of a diff, the samples of --history) keep one Person and Group per record, so what is
    derived from them is computed once. References are checked again on every build.
    """
    builder = Builder(known, reuse)
    for parsed in sorted(files, key=lambda f: f.path):
        builder.add(parsed)
    return builder.finish()


class Builder:
    """build() one file at a time, for callers that stream files in path order and drop each
    parsed document once it is added: only the records built from it stay in memory."""

    def __init__(self, known: Known, reuse: dict[int, tuple[Any, Person | Group]] | None = None) -> None:
        self._b = _Builder(known, reuse=reuse)

    def claim_existing(self, claimed: Mapping[str, Mapping[str, Location]]) -> None:
        """Ids that records built earlier hold (checker.incremental: an unchanged file's records), so
        that a record added with one of them is a duplicate, and references to them resolve."""
        for section, ids in claimed.items():
            self._b.claimed[section].update(ids)

    def add(self, parsed: ParsedFile) -> None:
        b = self._b
        b.paths.append(parsed.path)
        b.problems.extend(parsed.problems)
        if parsed.doc is None or not isinstance(parsed.doc.value, dict):
            for section in _NOUNS:
                b.unreadable[section].append(parsed.path)
            return
        _claim_all(b, parsed)

    def finish(self) -> Inventory:
        b = self._b
        _check_group_refs(b)
        for path, line, what, pid in b.person_refs:
            _person_refs(b, path, line, what, pid)
        for path, raw, lines, valid in b.waiver_raw:
            _add_waiver(b, path, raw, lines, valid)
        b.problems.extend(identity_problems(b.people, b.groups))  # SPEC §2 uniqueness
        if b.problems or b.consequences:
            raise InputError(_with_causes(b))
        return Inventory(b.people, b.groups, b.waivers, tuple(b.paths))


def _claim_all(b: _Builder, parsed: ParsedFile) -> None:
    """Claim the id of every record of one file and build its people and groups; keep waivers' records
    for the end (they refer to groups, which may come in later files)."""
    doc = parsed.doc
    assert doc is not None
    for section in _NOUNS:
        records = doc.value.get(section)
        if records is None:
            continue
        if not isinstance(records, list):
            b.unreadable[section].append(parsed.path)
            continue
        for index, raw in enumerate(records):
            valid = not parsed.problems or schema.record_validator(section).is_valid(raw)
            rid = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(rid, str):
                b.unreadable[section].append(f"{parsed.path}:{doc.line((section, index))}")
                continue
            if not _claim(b, parsed.path, doc, section, index, rid):
                continue
            if section == "people":
                if valid:
                    _add_person(b, parsed.path, doc, index)
            elif section == "groups":
                _add_group(b, parsed.path, doc, index, valid)
            else:
                b.waiver_raw.append((parsed.path, raw, doc.keys_at((section, index)), valid))


def _check_group_refs(b: _Builder) -> None:
    """The owner and members of every group built are known people (checked once all files are in)."""
    people = b.claimed["people"]
    for gid, group in b.groups.items():
        if group.owner not in people:
            b.unknown("people", group.location.file, group.field_lines.get("owner"),
                      f"group {gid}: owner {group.owner!r} is not a known person")
        listed = group.members[1:] if gid in b.owner_added else group.members
        for member in listed:
            if member not in people:
                b.unknown("people", group.location.file, group.member_lines.get(member),
                          f"group {gid}: member {member!r} is not a known person")


def _claim(b: _Builder, path: str, doc: Document, section: str, index: int, rid: str) -> bool:
    """Claim an id for a record; False (with a problem) when another record has it."""
    line = doc.line((section, index, "id")) or 1
    first = b.claimed[section].get(rid)
    if first is not None:
        b.problem(path, line, f"duplicate {_NOUNS[section]} id {rid!r} (first at {first.file}:{first.line})")
        return False
    b.claimed[section][rid] = Location(path, line)
    return True


def _with_causes(b: _Builder) -> list[Problem]:
    """Every problem, sorted; those that follow from unreadable records last, under a line that says so."""
    problems = sorted(set(b.problems), key=lambda p: (p.file, p.line or 0, p.message))
    if not b.consequences:
        return problems
    causes = sorted({where for places in b.unreadable.values() for where in places})
    follows = sorted(set(b.consequences), key=lambda p: (p.file, p.line or 0, p.message))
    source = f"{causes[0]}, which could not be read" if len(causes) == 1 else \
        f"the {len(causes)} files and records above that could not be read ({', '.join(causes[:3])}" + \
        (", ..." if len(causes) > 3 else "") + ")"
    noun = "error follows" if len(follows) == 1 else "errors follow"
    return [*problems, Problem("", None, f"{len(follows)} further {noun} from {source}: references to ids "
                                         "it may define"), *follows]


def _reused(b: _Builder, raw: dict[str, Any], path: str, kind: type) -> Person | Group | None:
    """What an earlier build made of this very record (the same parsed object), if anything."""
    kept = b.reuse.get(id(raw)) if b.reuse is not None else None
    if kept is None or kept[0] is not raw or not isinstance(kept[1], kind) or kept[1].location.file != path:
        return None
    return kept[1]


def _keep(b: _Builder, raw: dict[str, Any], made: _Made) -> _Made:
    if b.reuse is not None:
        b.reuse[id(raw)] = (raw, made)
    return made


def _add_person(b: _Builder, path: str, doc: Document, index: int) -> None:
    raw: dict[str, Any] = doc.value["people"][index]
    lines = doc.keys_at(("people", index))
    pid = intern(raw["id"])
    if raw["location"] not in countries.codes():
        b.problem(path, lines["location"], f"unknown country code {raw['location']!r} (ISO 3166-1 alpha-2)"
                                           f"{countries.hint(raw['location'])}")
    kept = _reused(b, raw, path, Person)
    if isinstance(kept, Person):
        b.people[pid] = kept  # the very same record
        return
    record: dict[str, Any] = {"id": pid}
    if "name" in raw:
        record["name"] = raw["name"]
    record.update(location=_shared(raw["location"]), employment=_shared(raw["employment"]),
                  status=_shared(raw.get("status", "active")),
                  trainings={_shared(k): _shared(v) for k, v in (raw.get("trainings") or {}).items()})
    accounts = dict(raw.get("accounts") or {})
    if accounts:
        lines = {**lines, **{f"accounts.{k}": v for k, v in doc.keys_at(("people", index, "accounts")).items()}}
    b.people[pid] = _keep(b, raw, Person(pid, record, Location(path, lines["id"]), Lines(lines), raw.get("email"),
                                         accounts))


def _shared(value: Any) -> Any:
    """One string object for each of the few values that repeat across 100,000s of records (a
    country, a date, a platform): a large inventory holds each once, not once per record."""
    return intern(value) if isinstance(value, str) else value


def _person_refs(b: _Builder, path: str, line: int | None, what: str, pid: object) -> None:
    if isinstance(pid, str) and pid not in b.claimed["people"]:
        b.unknown("people", path, line, f"{what} {pid!r} is not a known person")


def _add_group(b: _Builder, path: str, doc: Document, index: int, valid: bool) -> None:
    """Build one group; its person references are checked by finish(), once every file is in."""
    raw: dict[str, Any] = doc.value["groups"][index]
    lines = doc.keys_at(("groups", index))
    base = ("groups", index)
    gid = raw["id"]
    if not valid:  # a field error, reported by the schema: check the references that can be read
        b.person_refs.append((path, lines.get("owner"), f"group {gid}: owner", raw.get("owner")))
        if isinstance(raw.get("members"), list):
            b.person_refs.extend((path, line, f"group {gid}: member", member)
                                 for line, member in zip(doc.items_at((*base, "members")), raw["members"], strict=True))
        if isinstance(raw.get("reviewed"), dict):
            b.person_refs.append((path, doc.line((*base, "reviewed", "by")), f"group {gid}: reviewed by",
                                  raw["reviewed"].get("by")))
        return
    owner = intern(raw["owner"])
    if owner not in raw["members"]:
        b.owner_added.add(gid)
    if "reviewed" in raw:
        b.person_refs.append((path, doc.line((*base, "reviewed", "by")), f"group {gid}: reviewed by",
                              raw["reviewed"]["by"]))
    kept = _reused(b, raw, path, Group)
    if (isinstance(kept, Group) and b.known.data_classes.issuperset(kept.data_classes)
            and b.known.jurisdictions.issuperset(kept.fields["subject_jurisdictions"])):
        b.groups[gid] = kept  # the very same record (finish() checks its references again)
        return
    item_lines = doc.items_at((*base, "members"))
    members = [intern(member) for member in raw["members"]]  # the same string as the person's id
    member_lines = dict(zip(members, item_lines, strict=True))
    if owner not in member_lines:  # the owner is a member whether listed or not
        members.insert(0, owner)
        member_lines[owner] = lines["owner"]
    data_class_lines = {}
    class_lines = doc.items_at((*base, "data_classes"))
    for i, name in enumerate(raw.get("data_classes") or ()):
        data_class_lines[name] = class_lines[i]
        if name not in b.known.data_classes:
            b.problem(path, data_class_lines[name], f"group {gid}: unknown data class {name!r} "
                                                    f"(known: {', '.join(sorted(b.known.data_classes))})")
    for i, name in enumerate(raw.get("subject_jurisdictions") or ()):
        if name not in b.known.jurisdictions:
            b.problem(path, doc.items_at((*base, "subject_jurisdictions"))[i],
                      f"group {gid}: unknown jurisdiction {name!r} "
                      f"(known: {', '.join(sorted(b.known.jurisdictions))})")
    fields: dict[str, Any] = {"platform": _shared(raw["platform"]), "kind": _shared(raw["kind"]),
                              "data_classes": [_shared(c) for c in raw.get("data_classes") or ()],
                              "subject_jurisdictions": [_shared(j) for j in raw.get("subject_jurisdictions") or ()]}
    if "description" in raw:
        fields["description"] = raw["description"]
    if "reviewed" in raw:  # SPEC §3: passed to policies as given
        fields["reviewed"] = dict(raw["reviewed"])
    b.groups[gid] = _keep(b, raw, Group(gid, fields, owner, tuple(members), Location(path, lines["id"]),
                                         member_lines, Lines(lines), data_class_lines, raw.get("external_id")))


def _add_waiver(b: _Builder, path: str, raw: dict[str, Any], lines: dict[str, int], valid: bool) -> None:
    wid = raw["id"]
    group = raw.get("group")
    if isinstance(group, str) and group not in b.claimed["groups"]:
        b.unknown("groups", path, lines["group"], f"waiver {wid}: group {group!r} is not a known group")
    for key in ("person", "approved_by"):
        _person_refs(b, path, lines.get(key), f"waiver {wid}: {key}", raw.get(key))
    rules = b.known.rule_ids
    rule = raw.get("rule")
    if rules is not None and isinstance(rule, str) and rule not in rules:
        b.problem(path, lines["rule"], f"waiver {wid}: rule {rule!r} is not a rule of the policies "
                                       f"(known: {', '.join(sorted(rules))})")
    if valid:
        b.waivers[wid] = Waiver(wid, raw["rule"], raw["group"], raw.get("person"), raw["reason"],
                                raw["approved_by"], raw["expires"], Location(path, lines["id"]))


def load(root: Path, display_root: str | None, known: Known) -> Inventory:
    """Disk -> Inventory, reporting every problem of every file at once."""
    sources, problems = read_tree(root, display_root)
    parsed = [parse_source(s) for s in sources]
    if problems:
        raise InputError(problems + [p for f in parsed for p in f.problems])
    return build(parsed, known)
