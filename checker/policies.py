"""Find policy modules, data files and test cases; read # METADATA; compute a content digest."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker import rego_scan
from checker.errors import PolicyError, Problem
from checker.inventory_files import read_found
from checker.jsonkeys import unique_keys
from checker.models import LEVELS, RuleInfo
from checker.walk import walk
from checker.yamlload import MAX_DEPTH, Document, YamlProblem, parse

FAMILY_PREFIX = "access."
POLICY_SUFFIXES = (".rego", ".yaml", ".yml", ".json")
PERSON_PREFIX = "access.person."  # person-scope families (SPEC §3)
TEST_SUFFIXES = ("_test.rego", "_test.yaml", "_test.yml", "_test.json")
_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Module:
    path: str  # as shown to users, e.g. policies/access/owner_location/owner_location.rego
    source: str

    @property
    def package(self) -> str | None:
        match = _PACKAGE.search(_strip_comments(self.source))
        return match.group(1) if match else None


@dataclass(frozen=True)
class PolicySet:
    modules: tuple[Module, ...]  # evaluated
    test_modules: tuple[Module, ...]  # *_test.rego, for OPA's test runner
    case_files: tuple[str, ...]  # *_test.yaml: table-driven cases (display paths)
    data: Mapping[str, Any]
    rules: Mapping[str, RuleInfo]
    digest: str  # moves when any module or data file changes
    root: Path | None = None
    case_sources: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def packages(self) -> dict[str, str]:
        """rule id -> package."""
        return {r.rule_id: r.package for r in self.rules.values()}


def rule_id_for(package: str) -> str | None:
    """`access.owner_location` -> `owner-location`, `access.person.sensitive_reach` -> `sensitive-reach`;
    None for packages that are not rule families (test packages `*_test` included)."""
    if not package.startswith(FAMILY_PREFIX):
        return None
    name = package[len(PERSON_PREFIX):] if package.startswith(PERSON_PREFIX) else package[len(FAMILY_PREFIX):]
    if not name or "." in name or name.endswith("_test"):
        return None
    return name.replace("_", "-")


def is_policy_file(name: str) -> bool:
    """A file the policy folder is read for: the suffix compared case-insensitively, so that `X.REGO`
    is refused by name (see from_files) rather than skipped."""
    return name.lower().endswith(POLICY_SUFFIXES)


def scope_of(package: str) -> str:
    return "person" if package.startswith(PERSON_PREFIX) else "group"


def load_dir(root: Path, display_root: str | None = None) -> PolicySet:
    """Policies from a folder on disk: the files `diff` reads from git for the same folder (checker.walk)."""
    display_root = display_root if display_root is not None else str(root)
    if not root.is_dir():
        raise PolicyError([Problem(display_root, None, "policy folder not found")])
    found, problems = walk(root, display_root, is_policy_file, "policy", "policy file")
    sources, unread = read_found(found)
    problems += unread
    files = {source.path: source.data for source in sources}
    if problems:
        raise PolicyError(problems)
    policy_set = from_files(files)
    return PolicySet(**{**policy_set.__dict__, "root": root})


def from_files(files: Mapping[str, bytes]) -> PolicySet:
    """Policies from display path -> bytes (disk or git blobs). Raises PolicyError with every problem."""
    problems: list[Problem] = []
    modules, tests, cases = [], [], {}
    data: dict[str, Any] = {}
    data_origin: dict[str, str] = {}
    digest = hashlib.sha256()
    for path in sorted(files):
        raw = files[path]
        name = path.rsplit("/", 1)[-1]
        if not name.endswith(POLICY_SUFFIXES):
            if is_policy_file(name):
                problems.append(Problem(path, None, f"policy file names end in lowercase {', '.join(POLICY_SUFFIXES)} "
                                                    "(OPA and Regal read only those): rename it"))
            continue
        try:
            text = raw.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            problems.append(Problem(path, raw[: exc.start].count(b"\n") + 1, "not UTF-8 text"))
            continue
        if name.endswith(TEST_SUFFIXES):
            if name.endswith(".rego"):
                tests.append(Module(path, text))
            else:
                cases[path] = raw
            continue
        digest.update(f"{path}\0{len(raw)}\0".encode() + raw)
        if name.endswith(".rego"):
            modules.append(Module(path, text))
            continue
        loaded = _load_data(path, text, problems)
        if loaded is None:
            continue
        for key, value in loaded.items():
            if key in data:
                problems.append(Problem(path, None, f"data key {key!r} is already defined in {data_origin[key]}"))
                continue
            data[key] = value
            data_origin[key] = path
    rules = _rules(modules, problems)
    for module in modules:
        if module.package is None:
            problems.append(Problem(module.path, 1, "no package declaration"))
    if not modules and not problems:
        problems.append(Problem("", None, "no policy modules (*.rego) found"))
    elif not rules and not problems:
        problems.append(Problem("", None, "no rule family found: no package access.<name> defines deny or warn "
                                          "(is --policies the right folder?)"))
    if problems:
        raise PolicyError(problems)
    return PolicySet(tuple(modules), tuple(tests), tuple(sorted(cases)), data, rules, digest.hexdigest(),
                     case_sources=cases)


def _load_data(path: str, text: str, problems: list[Problem]) -> dict[str, Any] | None:
    doc: Document | None = None
    if path.endswith(".json"):
        deep = _json_too_deep(text)
        if deep is not None:
            problems.append(Problem(path, deep, f"nested more than {MAX_DEPTH} levels deep"))
            return None
        try:
            value = json.loads(text, object_pairs_hook=unique_keys)
        except ValueError as exc:
            problems.append(Problem(path, getattr(exc, "lineno", None), f"not valid JSON: {exc}"))
            return None
    else:
        try:
            doc = parse(text)
        except YamlProblem as exc:
            problems.append(Problem(path, exc.line, exc.message))
            return None
        value = doc.value if doc else {}
    if not isinstance(value, dict):
        problems.append(Problem(path, 1, "a policy data file must be a mapping"))
        return None
    # Imported here: engine workers import this module for its types, and the schema validators
    # would add a sixth to each worker's start.
    from checker import schema

    shape = schema.validate_policy_data(doc if doc is not None else Document(value, {}, {}), path)
    if shape:
        problems.extend(shape)
        return None
    return value


_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_JSON_NESTING = re.compile(r"[\[\]{}]")


def _json_too_deep(text: str) -> int | None:
    """The line where JSON nesting passes MAX_DEPTH (as YAML's does), or None: deeper data is refused
    before json.loads or the engine recurse into it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    bare = _JSON_STRING.sub('""', text)  # strings hold no raw newline, so lines stay where they are
    depth = 0
    for match in _JSON_NESTING.finditer(bare):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return bare.count("\n", 0, match.start()) + 1
    return None


def _strip_comments(source: str) -> str:
    """Remove # comments outside strings, line by line (good enough for package/rule heads)."""
    out = []
    for line in source.split("\n"):
        in_string = False
        for i, ch in enumerate(line):
            if ch == '"' and (i == 0 or line[i - 1] != "\\"):
                in_string = not in_string
            elif ch == "#" and not in_string:
                line = line[:i]
                break
        out.append(line)
    return "\n".join(out)


def _rules(modules: list[Module], problems: list[Problem]) -> dict[str, RuleInfo]:
    families: dict[str, dict[str, Any]] = {}
    for module in modules:
        package = module.package
        rule_id = rule_id_for(package) if package else None
        if rule_id is None:
            continue
        levels = {name for name in rego_scan.rule_heads(module.source) if name in LEVELS}
        if not levels and set(LEVELS) & rego_scan.identifiers(module.source):
            # It mentions deny/warn but defines neither that we can see: refuse rather than drop it.
            problems.append(Problem(module.path, None, f"package {package} mentions deny/warn but no rule head "
                                                       "for them was recognised; write `deny contains ...` "
                                                       "at the top level"))
        family = families.setdefault(rule_id, {"package": package, "file": module.path, "levels": set(),
                                               "meta": {}})
        if family["package"] != package:
            problems.append(Problem(module.path, None, f"package {package} and package {family['package']} "
                                                       f"({family['file']}) both give rule id {rule_id}"))
            continue
        family["levels"] |= levels
        meta = package_metadata(module, problems)
        if meta:
            family["meta"] = meta
            family["file"] = module.path
    rules = {}
    for rule_id, family in sorted(families.items()):
        if not family["levels"]:
            continue  # an access.* package without deny/warn: helpers, not a rule family
        meta = family["meta"]
        custom = meta.get("custom") or {}
        rules[rule_id] = RuleInfo(
            rule_id=rule_id, package=family["package"], file=family["file"],
            levels=tuple(level for level in LEVELS if level in family["levels"]),
            title=str(meta.get("title") or ""), description=str(meta.get("description") or "").strip(),
            remediation=str(custom.get("remediation") or "").strip(), severity=str(custom.get("severity") or ""),
            scope=scope_of(family["package"]))
    return rules


def package_metadata(module: Module, problems: list[Problem] | None = None) -> dict[str, Any]:
    """The # METADATA block that sits right above the package line (OPA's package scope)."""
    lines = module.source.split("\n")  # Rego ends lines at \n only, as git does (SPEC §2)
    for index, line in enumerate(lines):
        if line.strip() != "# METADATA":
            continue
        block, end = [], index + 1
        while end < len(lines) and lines[end].startswith("#"):
            block.append(lines[end][2:] if lines[end].startswith("# ") else lines[end][1:])
            end += 1
        following = next((ln for ln in lines[end:] if ln.strip()), "")
        scope_package = following.startswith("package ")
        try:  # with the inventory's limits: a 1 KB comment must not expand to gigabytes
            doc = parse("\n".join(block))
        except YamlProblem as exc:
            if problems is not None:
                at = index + 1 + exc.line if exc.line else index + 1  # the block starts below `# METADATA`
                problems.append(Problem(module.path, at, f"bad METADATA block: {exc.message}"))
            return {}
        meta = doc.value if doc is not None else {}
        if isinstance(meta, dict) and (scope_package or meta.get("scope") == "package"):
            return meta
    return {}
