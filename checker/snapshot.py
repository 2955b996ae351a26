"""The snapshot file of SPEC §8: what one platform holds, as one JSON document, version 1.

This module is the only one that knows the format: the model, its JSON Schema
(checker/schemas/snapshot-v1.json), reading with every problem named by file and JSON pointer,
and writing atomically (a temporary file in the same folder, then one rename).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from checker.errors import CheckerError, Problem

VERSION = 1
PLATFORMS = ("lark", "slack", "google", "microsoft")
# Most problems listed for one bad snapshot: a broken file can have one per record.
MAX_PROBLEMS = 50
# A snapshot is a few hundred bytes per person and group; far above any real tenant, far below memory.
MAX_SNAPSHOT_BYTES = int(os.environ.get("CHECKER_MAX_SNAPSHOT_BYTES", 1024 * 1024 * 1024))


class SnapshotError(CheckerError):
    """A snapshot that cannot be read or does not follow the format (exit 2)."""


@dataclass(frozen=True)
class SnapshotPerson:
    account: str  # the platform's stable id: Lark open_id, Slack user id, Google user id, Entra object id
    email: str | None = None
    name: str | None = None
    location: str | None = None  # ISO 3166-1 alpha-2; null where the platform does not say
    employment: str | None = None  # employee | contractor | vendor | null
    status: str | None = None  # active | departed | null


@dataclass(frozen=True)
class SnapshotGroup:
    external_id: str  # Lark chat_id, Slack channel id, Google group email, Entra group id
    name: str
    kind: str
    owner: str | None  # an account; null where the platform names none
    members: tuple[str, ...]  # accounts (nested groups already expanded)


@dataclass(frozen=True)
class Snapshot:
    version: int
    platform: str
    taken_at: str  # YYYY-MM-DDTHH:MM:SSZ
    source: Mapping[str, str]
    people: tuple[SnapshotPerson, ...]
    groups: tuple[SnapshotGroup, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def taken(self) -> dt.datetime:
        return dt.datetime.strptime(self.taken_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)

    def person_by_account(self) -> dict[str, SnapshotPerson]:
        return {p.account: p for p in self.people}


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- JSON


def to_json(snapshot: Snapshot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": snapshot.version, "platform": snapshot.platform, "taken_at": snapshot.taken_at,
        "source": dict(snapshot.source),
        "people": [{"account": p.account, "email": p.email, "name": p.name, "location": p.location,
                    "employment": p.employment, "status": p.status} for p in snapshot.people],
        "groups": [{"external_id": g.external_id, "name": g.name, "kind": g.kind, "owner": g.owner,
                    "members": list(g.members)} for g in snapshot.groups],
    }
    if snapshot.notes:
        out["notes"] = list(snapshot.notes)
    return out


def from_json(value: Mapping[str, Any]) -> Snapshot:
    """A Snapshot from an already validated document (see `parse`)."""
    return Snapshot(
        version=value["version"], platform=value["platform"], taken_at=value["taken_at"],
        source=dict(value["source"]),
        people=tuple(SnapshotPerson(p["account"], p["email"], p["name"], p["location"], p["employment"],
                                    p["status"]) for p in value["people"]),
        groups=tuple(SnapshotGroup(g["external_id"], g["name"], g["kind"], g["owner"], tuple(g["members"]))
                     for g in value["groups"]),
        notes=tuple(value.get("notes") or ()),
    )


def dumps(snapshot: Snapshot) -> str:
    """Stable text: one person or group per line, so a snapshot diffs readably in git."""
    doc = to_json(snapshot)
    head = {k: v for k, v in doc.items() if k not in ("people", "groups", "notes")}
    lines = ["{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items())
             + ","]
    for key in ("people", "groups", "notes"):
        if key not in doc:
            continue
        items = [json.dumps(item, ensure_ascii=False) for item in doc[key]]
        last = key == ("notes" if "notes" in doc else "groups")
        body = ",\n  ".join(items)
        lines.append(f' "{key}": [' + (f"\n  {body}\n " if items else "") + "]" + ("" if last else ","))
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- validation


@cache
def snapshot_schema() -> dict[str, Any]:
    text = resources.files("checker").joinpath("schemas/snapshot-v1.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(snapshot_schema())


def pointer(path: Iterable[Any]) -> str:
    """RFC 6901 JSON pointer of a path of keys and indexes."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "/"


def problems_of(value: Any, file: str) -> list[Problem]:
    """Every way `value` is not a valid snapshot: schema first, then what a schema cannot say."""
    if isinstance(value, dict) and "version" in value and value["version"] != VERSION:
        return [Problem(file, None, f"/version: snapshot version {value['version']!r} is not supported "
                                    f"(this checker reads version {VERSION})")]
    if _plainly_valid(value):  # the common case, without the schema validator's cost (24 s at 100,000 people)
        return _reference_problems(value, file)
    problems = []
    for error in _validator().iter_errors(value):
        problems.append(Problem(file, None, f"{pointer(error.absolute_path)}: {_message(error)}"))
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        return problems
    return _reference_problems(value, file)


_TAKEN_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_COUNTRY = re.compile(r"[A-Z]{2}")
_PERSON_KEYS = frozenset(("account", "email", "name", "location", "employment", "status"))
_GROUP_KEYS = frozenset(("external_id", "name", "kind", "owner", "members"))
_KINDS = frozenset(("chat", "channel", "mailing-list", "document-space", "case-queue"))
_EMPLOYMENT = frozenset(("employee", "contractor", "vendor", None))
_STATUS = frozenset(("active", "departed", None))


def _account(value: Any) -> bool:
    return type(value) is str and 0 < len(value) <= 256


def _plainly_valid(value: Any) -> bool:
    """True only if snapshot-v1.json accepts `value` (a fast path written to be no less strict than
    the schema; tests/test_snapshot.py checks the two agree). False: ask the schema what is wrong."""
    if type(value) is not dict or set(value) - {"notes"} != {"version", "platform", "taken_at", "source", "people",
                                                             "groups"}:
        return False
    if value["version"] != 1 or type(value["version"]) is not int or value["platform"] not in PLATFORMS:
        return False
    if type(value["taken_at"]) is not str or not _TAKEN_AT.fullmatch(value["taken_at"]):
        return False
    source, people, groups = value["source"], value["people"], value["groups"]
    if type(source) is not dict or any(type(v) is not str for v in source.values()):
        return False
    if "notes" in value and (type(value["notes"]) is not list or any(type(n) is not str for n in value["notes"])):
        return False
    if type(people) is not list or type(groups) is not list:
        return False
    for person in people:
        if type(person) is not dict or person.keys() != _PERSON_KEYS or not _account(person["account"]):
            return False
        if not (person["email"] is None or type(person["email"]) is str) \
                or not (person["name"] is None or type(person["name"]) is str):
            return False
        location = person["location"]
        if not (location is None or (type(location) is str and _COUNTRY.fullmatch(location))):
            return False
        if type(person["employment"]) not in (str, type(None)) or person["employment"] not in _EMPLOYMENT \
                or type(person["status"]) not in (str, type(None)) or person["status"] not in _STATUS:
            return False
    for group in groups:
        if type(group) is not dict or group.keys() != _GROUP_KEYS:
            return False
        if not _account(group["external_id"]) or type(group["name"]) is not str \
                or type(group["kind"]) is not str or group["kind"] not in _KINDS:
            return False
        if not (group["owner"] is None or _account(group["owner"])) or type(group["members"]) is not list:
            return False
        if not all(_account(m) for m in group["members"]):
            return False
    return True


def _message(error: Any) -> str:
    if error.validator == "oneOf" and error.instance is not None:
        return f"{error.instance!r} is not valid here"
    return str(error.message)


def _reference_problems(value: Mapping[str, Any], file: str) -> list[Problem]:
    problems: list[Problem] = []
    accounts: dict[str, int] = {}
    for i, person in enumerate(value["people"]):
        first = accounts.setdefault(person["account"], i)
        if first != i:
            problems.append(Problem(file, None, f"/people/{i}/account: duplicate account {person['account']!r} "
                                                f"(first at /people/{first})"))
    seen_groups: dict[str, int] = {}
    for i, group in enumerate(value["groups"]):
        first = seen_groups.setdefault(group["external_id"], i)
        if first != i:
            problems.append(Problem(file, None, f"/groups/{i}/external_id: duplicate group "
                                                f"{group['external_id']!r} (first at /groups/{first})"))
        if group["owner"] is not None and group["owner"] not in accounts:
            problems.append(Problem(file, None, f"/groups/{i}/owner: account {group['owner']!r} is not in people"))
        members: set[str] = set()
        for j, member in enumerate(group["members"]):
            if member not in accounts:
                problems.append(Problem(file, None, f"/groups/{i}/members/{j}: account {member!r} is not in people"))
            elif member in members:
                problems.append(Problem(file, None, f"/groups/{i}/members/{j}: account {member!r} listed twice"))
            members.add(member)
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems[:MAX_PROBLEMS]


def parse(text: str | bytes, file: str) -> Snapshot:
    """Snapshot text -> Snapshot, or SnapshotError naming the file and each JSON pointer."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError([Problem(file, exc.lineno, f"not JSON: {exc.msg} (column {exc.colno})")]) from None
    except UnicodeDecodeError as exc:
        raise SnapshotError([Problem(file, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    problems = problems_of(value, file)
    if problems:
        raise SnapshotError(problems)
    return from_json(value)


def read(path: Path, shown: str | None = None) -> Snapshot:
    file = shown if shown is not None else str(path)
    try:
        size = path.stat().st_size
        if size > MAX_SNAPSHOT_BYTES:
            raise SnapshotError([Problem(file, None, f"snapshot is {size:,} bytes, over the limit of "
                                                     f"{MAX_SNAPSHOT_BYTES:,} (CHECKER_MAX_SNAPSHOT_BYTES)")])
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotError([Problem(file, None, f"cannot read the snapshot: {exc.strerror or exc}")]) from None
    return parse(data, file)


# ---------------------------------------------------------------- writing


def write(snapshot: Snapshot, path: Path) -> None:
    """Write the snapshot whole or not at all: what is on disk at `path` is either what was there
    before or the complete new file, also when interrupted (Ctrl-C) or out of disk."""
    problems = problems_of(to_json(snapshot), str(path))
    if problems:  # a connector bug must not produce a file that audit would then refuse
        raise SnapshotError(problems)
    write_atomic(path, dumps(snapshot).encode("utf-8"))


def write_atomic(path: Path, data: bytes) -> None:
    replace_atomic([(path, data)])


def replace_atomic(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write every file to a temporary sibling first, then rename them all into place.

    Nothing is renamed until every temporary file is complete, so a failure while writing
    leaves every target as it was; temporary files are removed on any error or interrupt.
    """
    temps: list[tuple[str, Path]] = []
    try:
        for path, data in files:
            folder = path.parent if str(path.parent) else Path(".")
            try:
                folder.mkdir(parents=True, exist_ok=True)
                handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
            except OSError as exc:
                raise CheckerError([Problem(str(path), None, f"cannot write: {exc.strerror or exc}")]) from None
            temps.append((temp, path))
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                    out.flush()
                    if len(files) == 1:
                        os.fsync(out.fileno())
                if path.exists():
                    os.chmod(temp, path.stat().st_mode & 0o7777)
                else:
                    umask = os.umask(0)
                    os.umask(umask)
                    os.chmod(temp, 0o666 & ~umask)
            except OSError as exc:
                raise CheckerError([Problem(str(path), None, f"cannot write: {exc.strerror or exc}")]) from None
        if len(files) > 1:
            os.sync()  # one flush for them all: an fsync per file cost more than the edits (1,000 files)
        for temp, path in temps:
            os.replace(temp, path)
        temps = []
    finally:
        for temp, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(temp)
