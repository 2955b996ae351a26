"""Table-driven policy cases (`<family>_test.yaml` beside each rule family), run on every engine.

A case is a group input (SPEC §3 shape, already joined) or, for a person-scope family, a person
and the groups they are in; an as-of date; and the exact multiset of (level, person) findings its
family must produce (for person-scope families, (level, group)).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from checker import dates
from checker.errors import PolicyError, Problem
from checker.yamlload import YamlProblem, parse

DEFAULT_AS_OF = "2026-11-29"
_CASE_KEYS = {"name", "as_of", "group", "person", "groups", "findings", "rule"}


@dataclass(frozen=True)
class Case:
    file: str
    line: int
    name: str
    rule: str
    as_of: str
    group: Mapping[str, Any] | None  # a group-scope case's input.group
    expected: Counter[tuple[str, str | None]]
    index: int = 0  # its place in the file's `cases` list
    person: Mapping[str, Any] | None = None  # a person-scope case's input.person (and groups)
    groups: tuple[Mapping[str, Any], ...] = ()

    @property
    def key(self) -> str:
        """The case's identity: its file and place in the list. Not its line: flow-style cases share one."""
        return f"{self.file}#{self.index}"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def scope(self) -> str:
        return "person" if self.person is not None else "group"

    def input(self) -> dict[str, Any]:
        if self.person is not None:
            return {"as_of": self.as_of, "person": dict(self.person), "groups": [dict(g) for g in self.groups]}
        return {"as_of": self.as_of, "group": dict(self.group or {})}


@dataclass(frozen=True)
class Outcome:
    case: Case
    actual: Counter[tuple[str, str | None]]

    @property
    def passed(self) -> bool:
        return self.actual == self.case.expected

    def explain(self) -> str:
        missing = self.case.expected - self.actual
        extra = self.actual - self.case.expected
        parts = []
        if missing:
            parts.append("missing " + ", ".join(_show(k) for k in sorted(missing.elements(), key=str)))
        if extra:
            parts.append("unexpected " + ", ".join(_show(k) for k in sorted(extra.elements(), key=str)))
        return "; ".join(parts)


def _show(key: tuple[str, str | None]) -> str:
    level, person = key
    return f"{level}({person})" if person else level


def rule_of_file(path: str) -> str:
    """policies/owner_location/owner_location_test.yaml -> owner-location."""
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0].removesuffix("_test")
    return stem.replace("_", "-")


def load(path: str, data: bytes, known_rules: Mapping[str, Any]) -> list[Case]:
    problems: list[Problem] = []
    try:
        doc = parse(data.decode("utf-8"))
    except (YamlProblem, UnicodeDecodeError) as exc:
        raise PolicyError([Problem(path, getattr(exc, "line", None), str(exc))]) from None
    if doc is None or not isinstance(doc.value, dict) or not isinstance(doc.value.get("cases"), list):
        raise PolicyError([Problem(path, 1, "a cases file must be a mapping with a `cases` list")])
    cases = []
    seen: dict[tuple[str, str], int] = {}  # (rule, name) -> line
    for index, raw in enumerate(doc.value["cases"]):
        line = doc.line(("cases", index)) or 1
        shape = ({"name", "findings"} <= raw.keys() and not raw.keys() - _CASE_KEYS
                 and (raw.keys() & {"group", "person", "groups"}) in ({"group"}, {"person", "groups"})
                 if isinstance(raw, dict) else False)
        if not shape:
            problems.append(Problem(path, line, f"a case needs name, findings and either group or person and "
                                                f"groups (and may have as_of, rule); got "
                                                f"{sorted(raw) if isinstance(raw, dict) else raw!r}"))
            continue
        rule = raw.get("rule") or rule_of_file(path)
        if rule not in known_rules:
            problems.append(Problem(path, line, f"case {raw['name']!r}: no rule family {rule!r} in the policies"))
            continue
        expected: Counter[tuple[str, str | None]] = Counter()
        named = "group" if "person" in raw else "person"  # the id a finding of this scope may name
        scope = "person" if "person" in raw else "group"
        if getattr(known_rules[rule], "scope", "group") != scope:
            problems.append(Problem(path, line, f"case {raw['name']!r}: rule {rule!r} is not a {scope}-scope "
                                                "family"))
            continue
        for item in raw["findings"] or ():
            if not isinstance(item, dict) or item.get("level") not in ("deny", "warn") or item.keys() - {"level",
                                                                                                       named}:
                problems.append(Problem(path, line, f"case {raw['name']!r}: a finding is {{level, {named}?}}, "
                                                    f"got {item!r}"))
                continue
            expected[(item["level"], item.get(named))] += 1
        groups = raw.get("groups") or []
        if "person" in raw and not (isinstance(raw["person"], dict) and isinstance(groups, list)):
            problems.append(Problem(path, line, f"case {raw['name']!r}: person is a mapping, groups a list"))
            continue
        name = str(raw["name"])
        as_of = str(raw.get("as_of") or DEFAULT_AS_OF)
        wrong = dates.problem(as_of)
        if wrong:  # SPEC §2's range: a far date would fail inside the policies' time functions instead
            problems.append(Problem(path, doc.line(("cases", index, "as_of")), f"case {name!r}: as_of "
                                                                               f"{as_of!r} {wrong}"))
            continue
        if (rule, name) in seen:
            problems.append(Problem(path, line, f"case {name!r} of rule {rule} is already defined at line "
                                                f"{seen[(rule, name)]}; give every case its own name"))
            continue
        seen[(rule, name)] = line
        cases.append(Case(path, line, name, rule, as_of, raw.get("group"), expected, index, raw.get("person"),
                          tuple(groups)))
    if problems:
        raise PolicyError(problems)
    return cases


def check_unique(all_cases: list[Case]) -> None:
    """Refuse two cases of one rule with one name, or with one key, across files: a report line or a
    result must never stand for two cases."""
    problems = []
    seen: dict[tuple[str, str], Case] = {}
    keys: set[str] = set()
    for case in all_cases:
        first = seen.setdefault((case.rule, case.name), case)
        if first is not case:
            problems.append(Problem(case.file, case.line, f"case {case.name!r} of rule {case.rule} is already "
                                                          f"defined at {first.where}; give every case its own name"))
        if case.key in keys:
            problems.append(Problem(case.file, case.line, f"case key {case.key} is used twice"))
        keys.add(case.key)
    if problems:
        raise PolicyError(problems)


def outcome(case: Case, raw: Mapping[str, Mapping[str, list[Any]]]) -> Outcome:
    """Compare one case with the engine's raw result for its input (only the case's own family counts)."""
    actual: Counter[tuple[str, str | None]] = Counter()
    seen = set()
    named = "group" if case.scope == "person" else "person"
    for level, elements in (raw.get(case.rule) or {}).items():
        for element in elements:
            person = element.get(named) if isinstance(element, dict) else None
            if (level, person) in seen:  # the checker reports one finding per identity
                continue
            seen.add((level, person))
            actual[(level, person)] += 1
    return Outcome(case, actual)
