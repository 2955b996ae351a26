"""Read inventory files, validate them, and build the Inventory model.

Three steps, so that `diff` can feed git blobs where `audit` feeds files on disk:
  read_tree (disk I/O) -> parse_source (pure, per file, cacheable) -> build (pure, across files).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pycountry

from checker import schema
from checker.errors import InputError, Problem
from checker.models import Group, Inventory, Location, Person, Waiver
from checker.observed.identity import identity_problems
from checker.yamlload import Document, YamlProblem, parse

DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024
_Made = TypeVar("_Made", Person, Group)
YAML_SUFFIXES = (".yaml", ".yml")


@functools.cache
def _country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, from pycountry (a set: a lookup per person was a fifth of build time)."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


def max_file_bytes() -> int:
    return int(os.environ.get("CHECKER_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES))


@dataclass(frozen=True)
class SourceFile:
    path: str  # as shown to users, e.g. inventories/groups/lark/ops.yaml
    data: bytes


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


# ---------------------------------------------------------------- reading from disk


def read_tree(root: Path, display_root: str | None = None) -> tuple[list[SourceFile], list[Problem]]:
    """Every YAML file under root (hidden ones too; only `.git` folders are skipped), with the
    problems of files that could not be read safely. Nothing is skipped silently."""
    display_root = display_root if display_root is not None else str(root)
    if not root.is_dir():
        return [], [Problem(display_root, None, "inventory folder not found")]
    real_root = root.resolve()
    sources: list[SourceFile] = []
    problems: list[Problem] = []
    limit = max_file_bytes()

    def unreadable(error: OSError) -> None:
        where = _display(Path(error.filename), root, display_root) if error.filename else display_root
        problems.append(Problem(where, None, f"cannot read this folder: {error.strerror or error}"))

    for dirpath, dirnames, _ in os.walk(root, followlinks=False, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        here = Path(dirpath)
        # scandir's entries carry their type and size, so a file costs no extra stat calls.
        try:
            with os.scandir(dirpath) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            unreadable(exc)
            continue
        for entry in listed:
            if entry.is_dir(follow_symlinks=False):
                continue
            is_yaml = entry.name.endswith(YAML_SUFFIXES)
            path = here / entry.name
            if entry.is_symlink():
                if is_yaml or path.is_dir():
                    problem = _link_problem(path, real_root, root, display_root, is_yaml)
                    if problem:
                        problems.append(problem)
                continue  # a link inside the tree: its target is read in its own right
            if not is_yaml:
                continue
            shown = _display(path, root, display_root)
            if not entry.is_file(follow_symlinks=False):
                problems.append(Problem(shown, None, "not a regular file; refusing to read it"))
                continue
            source, problem = _read_file(path, shown, entry.stat(follow_symlinks=False).st_size, limit)
            if problem:
                problems.append(problem)
            elif source:
                sources.append(source)
    return sources, problems


def _display(path: Path, root: Path, display_root: str) -> str:
    rel = path.relative_to(root).as_posix()
    return f"{display_root.rstrip('/')}/{rel}" if display_root not in ("", ".") else rel


def _link_problem(path: Path, real_root: Path, root: Path, display_root: str, is_yaml: bool) -> Problem | None:
    shown = _display(path, root, display_root)
    target = path.resolve()
    if not target.exists():
        return Problem(shown, None, f"broken symlink (-> {os.readlink(path)})")
    if not target.is_relative_to(real_root):
        return Problem(shown, None, f"symlink leaves the inventory tree (-> {target}); refusing to read it")
    if is_yaml and not (target.is_file() and target.name.endswith(YAML_SUFFIXES)
                        and ".git" not in target.relative_to(real_root).parts):
        # its target is not read as YAML in its own right, so its content would go unread
        return Problem(shown, None, f"a .yaml symlink to something that is not a YAML file (-> {target}); "
                                    "link YAML files only to YAML files")
    return None


def _read_file(path: Path, shown: str, size: int, limit: int) -> tuple[SourceFile | None, Problem | None]:
    if size > limit:
        return None, Problem(shown, None, f"file is {size:,} bytes, over the limit of {limit:,} "
                                          "(CHECKER_MAX_FILE_BYTES)")
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)  # never more than the limit, even if the file grew
    except OSError as exc:
        return None, Problem(shown, None, f"cannot read: {exc.strerror or exc}")
    if len(data) > limit:
        return None, Problem(shown, None, f"file is over the limit of {limit:,} bytes (CHECKER_MAX_FILE_BYTES)")
    return SourceFile(shown, data), None


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


@dataclass
class _Builder:
    known: Known
    people: dict[str, Person] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    waivers: dict[str, Waiver] = field(default_factory=dict)
    # raw records kept until every file is in, so references can be checked in any file order
    group_raw: list[tuple[str, Document, int]] = field(default_factory=list)
    waiver_raw: list[tuple[str, Document, int]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    reuse: dict[int, tuple[Any, Person | Group]] | None = None

    def problem(self, file: str, line: int | None, message: str) -> None:
        self.problems.append(Problem(file, line, message))


def build(files: Iterable[ParsedFile], known: Known, reuse: dict[int, tuple[Any, Person | Group]] | None = None
          ) -> Inventory:
    """Join every file into one Inventory, or raise InputError with every problem found.

    `reuse` lets a caller that builds several inventories from mostly the same parsed files (the two
    sides of a diff, the samples of --history) keep one Person and Group per record, so what is
    derived from them is computed once. References are checked again on every build.
    """
    files = sorted(files, key=lambda f: f.path)
    builder = _Builder(known, reuse=reuse)
    for parsed in files:
        builder.problems.extend(parsed.problems)
    usable = [f for f in files if f.doc is not None and not f.problems]
    for parsed in usable:
        assert parsed.doc is not None
        for index, _ in enumerate(parsed.doc.value.get("people") or ()):
            _add_person(builder, parsed.path, parsed.doc, index)
        builder.group_raw += [(parsed.path, parsed.doc, i) for i in range(len(parsed.doc.value.get("groups") or ()))]
        builder.waiver_raw += [(parsed.path, parsed.doc, i)
                               for i in range(len(parsed.doc.value.get("waivers") or ()))]
    for path, doc, index in builder.group_raw:
        _add_group(builder, path, doc, index)
    for path, doc, index in builder.waiver_raw:
        _add_waiver(builder, path, doc, index)
    builder.problems.extend(identity_problems(builder.people, builder.groups))  # SPEC §2 uniqueness
    if builder.problems:
        raise InputError(sorted(set(builder.problems), key=lambda p: (p.file, p.line or 0, p.message)))
    return Inventory(builder.people, builder.groups, builder.waivers, tuple(f.path for f in files))


def _new_record(b: _Builder, path: str, doc: Document, section: str, index: int,
                seen: Mapping[str, Person | Group | Waiver]) -> tuple[dict[str, Any], dict[str, int]] | None:
    """A record and its field lines, or None (with a problem) when its id is already taken."""
    raw: dict[str, Any] = doc.value[section][index]
    lines = doc.keys_at((section, index))
    if raw["id"] in seen:
        first = seen[raw["id"]].location
        noun = {"people": "person", "groups": "group", "waivers": "waiver"}[section]
        b.problem(path, lines["id"], f"duplicate {noun} id {raw['id']!r} (first at {first.file}:{first.line})")
        return None
    return raw, lines


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
    record_and_lines = _new_record(b, path, doc, "people", index, b.people)
    if record_and_lines is None:
        return
    raw, lines = record_and_lines
    pid = raw["id"]
    if raw["location"] not in _country_codes():
        b.problem(path, lines["location"], f"unknown country code {raw['location']!r} (ISO 3166-1 alpha-2)")
    kept = _reused(b, raw, path, Person)
    if isinstance(kept, Person):
        b.people[pid] = kept  # the very same record
        return
    record: dict[str, Any] = {"id": pid}
    if "name" in raw:
        record["name"] = raw["name"]
    record.update(location=raw["location"], employment=raw["employment"],
                  status=raw.get("status", "active"), trainings=dict(raw.get("trainings") or {}))
    accounts = dict(raw.get("accounts") or {})
    lines = {**lines, **{f"accounts.{k}": v for k, v in doc.keys_at(("people", index, "accounts")).items()}}
    b.people[pid] = _keep(b, raw, Person(pid, record, Location(path, lines["id"]), lines, raw.get("email"),
                                         accounts))


def _add_group(b: _Builder, path: str, doc: Document, index: int) -> None:
    record_and_lines = _new_record(b, path, doc, "groups", index, b.groups)
    if record_and_lines is None:
        return
    raw, lines = record_and_lines
    base = ("groups", index)
    gid = raw["id"]
    kept = _reused(b, raw, path, Group)
    if (isinstance(kept, Group) and all(m in b.people for m in kept.members)
            and b.known.data_classes.issuperset(kept.data_classes)
            and b.known.jurisdictions.issuperset(kept.fields["subject_jurisdictions"])):
        b.groups[gid] = kept  # the very same record, and its references still resolve
        return
    owner = raw["owner"]
    if owner not in b.people:
        b.problem(path, lines["owner"], f"group {gid}: owner {owner!r} is not a known person")
    member_lines: dict[str, int] = {}
    item_lines = doc.items_at((*base, "members"))
    for i, member in enumerate(raw["members"]):
        member_lines[member] = item_lines[i]
        if member not in b.people:
            b.problem(path, member_lines[member], f"group {gid}: member {member!r} is not a known person")
    members = list(raw["members"])
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
    fields: dict[str, Any] = {"platform": raw["platform"], "kind": raw["kind"],
                              "data_classes": list(raw.get("data_classes") or ()),
                              "subject_jurisdictions": list(raw.get("subject_jurisdictions") or ())}
    if "description" in raw:
        fields["description"] = raw["description"]
    b.groups[gid] = _keep(b, raw, Group(gid, fields, owner, tuple(members), Location(path, lines["id"]),
                                         member_lines, lines, data_class_lines, raw.get("external_id")))


def _add_waiver(b: _Builder, path: str, doc: Document, index: int) -> None:
    record_and_lines = _new_record(b, path, doc, "waivers", index, b.waivers)
    if record_and_lines is None:
        return
    raw, lines = record_and_lines
    wid = raw["id"]
    if raw["group"] not in b.groups:
        b.problem(path, lines["group"], f"waiver {wid}: group {raw['group']!r} is not a known group")
    for key in ("person", "approved_by"):
        if key in raw and raw[key] not in b.people:
            b.problem(path, lines[key], f"waiver {wid}: {key} {raw[key]!r} is not a known person")
    rules = b.known.rule_ids
    if rules is not None and raw["rule"] not in rules:
        b.problem(path, lines["rule"], f"waiver {wid}: rule {raw['rule']!r} is not a rule of the policies "
                                       f"(known: {', '.join(sorted(rules))})")
    b.waivers[wid] = Waiver(wid, raw["rule"], raw["group"], raw.get("person"), raw["reason"],
                            raw["approved_by"], raw["expires"], Location(path, lines["id"]))


def load(root: Path, display_root: str | None, known: Known) -> Inventory:
    """Disk -> Inventory, reporting every problem of every file at once."""
    sources, problems = read_tree(root, display_root)
    parsed = [parse_source(s) for s in sources]
    if problems:
        raise InputError(problems + [p for f in parsed for p in f.problems])
    return build(parsed, known)
