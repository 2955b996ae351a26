"""A tiny organisation with a tiny policy pack, in a real git repository, for `checker diff` tests.

The policy pack is written here rather than copied from policies/ so that the tests pin down
diff behaviour (classification, attribution, impact) independently of the shipped rules.
It uses only builtins the embedded engine accepts. The repository is driven with the git
command line, not with the module under test.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

POLICY_DATA = """\
data_classes:
  public: {sensitive: false}
  user_pii: {sensitive: true, max_members: 4}
  government_id: {sensitive: true, max_members: 3}
jurisdictions:
  US: {staff_locations: [US]}
  EU: {staff_locations: [IE, DE]}
"""

LIB = """\
package lib.tiny

import rego.v1

sensitive(g) if {
\tsome c in g.data_classes
\tdata.data_classes[c].sensitive == true
}

approved(g) := {loc |
\tsome j in g.subject_jurisdictions
\tsome loc in data.jurisdictions[j].staff_locations
\tevery k in g.subject_jurisdictions {
\t\tloc in data.jurisdictions[k].staff_locations
\t}
}
"""

OWNER_LOCATION = """\
# METADATA
# title: Owner outside the approved locations
package access.owner_location

import rego.v1

import data.lib.tiny

deny contains msg if {
\tg := input.group
\ttiny.sensitive(g)
\tcount(g.subject_jurisdictions) > 0
\tnot g.owner.location in tiny.approved(g)
\tmsg := concat("", ["owner ", g.owner.id, " works from ", g.owner.location])
}
"""

MEMBER_LOCATION = """\
# METADATA
# title: Member outside the approved locations
package access.member_location

import rego.v1

import data.lib.tiny

deny contains {"msg": msg, "person": m.id} if {
\tg := input.group
\ttiny.sensitive(g)
\tcount(g.subject_jurisdictions) > 0
\tsome m in g.members
\tm.id != g.owner.id
\tnot m.location in tiny.approved(g)
\tmsg := concat("", ["member ", m.id, " works from ", m.location])
}
"""

GROUP_SIZE = """\
# METADATA
# title: Too many members for the data
package access.group_size

import rego.v1

deny contains msg if {
\tg := input.group
\tsome c in g.data_classes
\tlimit := data.data_classes[c].max_members
\tcount(g.members) > limit
\tmsg := concat("", ["group ", g.id, " has too many members for ", c])
}
"""

NON_EMPLOYEE = """\
# METADATA
# title: Non-employee in a group with government ids
package access.non_employee

import rego.v1

warn contains {"msg": msg, "person": m.id} if {
\tg := input.group
\t"government_id" in g.data_classes
\tsome m in g.members
\tm.employment != "employee"
\tmsg := concat("", [m.id, " is a ", m.employment])
}
"""

POLICIES = {
    "policies/data.yaml": POLICY_DATA,
    "policies/lib/tiny.rego": LIB,
    "policies/owner_location/owner_location.rego": OWNER_LOCATION,
    "policies/member_location/member_location.rego": MEMBER_LOCATION,
    "policies/group_size/group_size.rego": GROUP_SIZE,
    "policies/non_employee/non_employee.rego": NON_EMPLOYEE,
}

# Line numbers below are relied on by the tests: keep them in step when editing.
PEOPLE_US = """\
people:
  - id: ana
    location: US
    employment: employee
  - id: bob
    location: US
    employment: employee
  - id: cy
    location: US
    employment: contractor
"""  # ana: 2, bob: 5 (location 6), cy: 8

PEOPLE_ELSEWHERE = """\
people:
  - id: li
    location: CN
    employment: employee
  - id: eva
    location: IE
    employment: employee
"""  # li: 2, eva: 5

US_ESCALATIONS = """\
groups:
  - id: us-escalations
    platform: lark
    kind: chat
    owner: ana
    members:
      - ana
      - bob
    data_classes: [user_pii]
    subject_jurisdictions: [US]
"""  # id: 2, owner: 5, ana: 7, bob: 8, data_classes: 9

CN_REVIEW = """\
groups:
  - id: cn-review
    platform: lark
    kind: document-space
    owner: li
    members: [bob]
    data_classes: [user_pii]
    subject_jurisdictions: [US]
"""  # owner-location fires at the base already (id line 2)

INVENTORY = {
    "inventories/people/us.yaml": PEOPLE_US,
    "inventories/people/elsewhere.yaml": PEOPLE_ELSEWHERE,
    "inventories/groups/us-escalations.yaml": US_ESCALATIONS,
    "inventories/groups/cn-review.yaml": CN_REVIEW,
}

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
}


class GitOrg:
    """A git repository in a folder, driven with the git command line."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        if not (root / ".git").exists():
            self.git("init", "-q", "-b", "main")

    def git(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(["git", *args], cwd=cwd or self.root, capture_output=True, text=True,
                              env={**os.environ, **_GIT_ENV}, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout.strip()

    def write(self, files: dict[str, str]) -> None:
        for rel, text in files.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def remove(self, rel: str) -> None:
        self.git("rm", "-q", "-r", rel)

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str, start: str | None = None) -> None:
        self.git("checkout", "-q", "-b", name, *([start] if start else []))

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)


def make_org(root: Path, with_inventory: bool = True) -> GitOrg:
    """The policies and (by default) the organisation, committed on `main`, then a branch `pr`."""
    org = GitOrg(root)
    org.write(POLICIES)
    if with_inventory:
        org.write(INVENTORY)
    org.commit("the organisation")
    org.branch("pr")
    return org


def changed_group(text: str, kind: str, newcomer: Callable[[], str]) -> str:
    """A group file's text after one step of a generated history: `classes` puts government ids in
    it, `leave` drops its last member when it has more than two, anything else (or a `leave` that
    cannot) adds newcomer() as its first member."""
    if kind == "classes":
        return re.sub(r"data_classes: \[[^\]]*\]", "data_classes: [user_pii, government_id]", text)
    if kind == "leave" and text.count("\n      - ") > 2:
        last = text.rindex("\n      - ")
        return text[:last] + text[text.index("\n", last + 1):]
    if "    members:\n" not in text:
        return text
    return text.replace("    members:\n", f"    members:\n      - {newcomer()}\n", 1)
