"""SPEC §2 platform identity fields: email, accounts, external_id, unique as SPEC says, errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker import inventory
from checker.errors import InputError
from checker.inventory import Known

KNOWN = Known(frozenset({"user_pii"}), frozenset({"US"}), frozenset({"owner-location"}))

PEOPLE = """\
people:
  - id: mei.chen
    location: US
    employment: employee
    email: Mei.Chen@example.com
    accounts:
      lark: ou_1
      slack: U1
  - id: li.wei
    location: CN
    employment: employee
    email: mei.chen@EXAMPLE.com
    accounts: {feishu: ou_1, slack: U2}
"""

GROUPS = """\
groups:
  - id: g1
    platform: lark
    external_id: oc_1
    kind: chat
    owner: mei.chen
    members: [li.wei]
  - id: g2
    platform: feishu
    external_id: oc_1
    kind: chat
    owner: mei.chen
    members: []
  - id: g3
    platform: slack
    external_id: oc_1
    kind: channel
    owner: mei.chen
    members: []
"""


def load(tmp_path: Path, **files: str) -> inventory.Inventory:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return inventory.load(tmp_path, "inv", KNOWN)


def test_fields_are_read(tmp_path: Path) -> None:
    inv = load(tmp_path, people=PEOPLE.replace("mei.chen@EXAMPLE.com", "li.wei@example.com").replace(
        "feishu: ou_1", "feishu: ou_2"), groups=GROUPS.replace("external_id: oc_1\n    kind: chat\n    owner: "
                                                               "mei.chen\n    members: []", "external_id: oc_2\n"
                                                               "    kind: chat\n    owner: mei.chen\n    members: []"))
    assert inv.people["mei.chen"].email == "Mei.Chen@example.com"
    assert dict(inv.people["li.wei"].accounts) == {"feishu": "ou_2", "slack": "U2"}
    assert [inv.groups[g].external_id for g in ("g1", "g2", "g3")] == ["oc_1", "oc_2", "oc_1"]
    assert "email" not in inv.people["mei.chen"].record  # policies see what they saw before


def test_duplicates_are_errors_with_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load(tmp_path, people=PEOPLE, groups=GROUPS)
    assert [str(p) for p in caught.value.problems] == [
        "inv/groups.yaml:10: group g2: lark external_id 'oc_1' is also group g1's (at inv/groups.yaml:4)",
        "inv/people.yaml:12: person li.wei: email 'mei.chen@EXAMPLE.com' is also mei.chen's "
        "(at inv/people.yaml:5); emails are unique, ignoring case",
        "inv/people.yaml:13: person li.wei: lark account 'ou_1' is also mei.chen's (at inv/people.yaml:7)",
    ]


@pytest.mark.parametrize(("field", "line", "message"), [
    ("    email: not-an-email\n", 5, "email: 'not-an-email' is not"),
    ("    accounts: {lark: ''}\n", 5, "accounts.lark must not be empty"),
    ("    accounts: [ou_1]\n", 5, "accounts must be a mapping"),
])
def test_bad_values(tmp_path: Path, field: str, line: int, message: str) -> None:
    text = "people:\n  - id: a\n    location: US\n    employment: employee\n" + field
    with pytest.raises(InputError) as caught:
        load(tmp_path, people=text)
    assert any(p.line == line and message in p.message for p in caught.value.problems), caught.value.problems
