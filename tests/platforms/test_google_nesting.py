"""Nested groups: the snapshot's effective membership equals an expansion computed here, independently,
for a generated 5,000-user tenant read through the real SDK; and the expansion itself, table-driven."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.platforms import ConnectorSettings, connector
from checker.platforms.nesting import expand
from testing.fake_google import GoogleTenant, generated, serve

pytest.importorskip("googleapiclient")


def independent_expansion(tenant: GoogleTenant) -> dict[str, set[str]]:
    """Group email -> every account reached, by a plain graph walk over the fake's own data."""
    out: dict[str, set[str]] = {}
    for g in tenant.groups:
        accounts: set[str] = set()
        seen, todo = {g["id"]}, [g["id"]]
        while todo:
            for m in tenant.members.get(todo.pop(), []):
                if m["type"] == "GROUP":
                    if m["id"] not in seen:
                        seen.add(m["id"])
                        todo.append(m["id"])
                else:
                    accounts.add(f"customer:{m['id']}" if m["type"] == "CUSTOMER" else m["id"])
        out[g["email"]] = accounts
    return out


def test_effective_membership_of_a_5000_user_tenant(tmp_path: Path) -> None:
    tenant = generated(users=5000, groups=300)
    with serve(tenant) as fake:
        key = tmp_path / "key.json"
        key.write_text(json.dumps(tenant.service_account_info(fake.token_uri)))
        snap = connector("google").read(ConnectorSettings({"GOOGLE_APPLICATION_CREDENTIALS": str(key)},
                                                          api_url=fake.url, subject=tenant.admin))
    expected = independent_expansion(tenant)
    got = {g.external_id: set(g.members) for g in snap.groups}
    assert got == expected
    assert len(snap.people) == 5000 + 6 + 1  # the users, six EXTERNAL members, everyone in the domain
    # depth three: group 0 reaches the members group 3 lists directly; the cycle 1 > 2 > 3 > 1 is one set
    direct3 = {m["id"] for m in tenant.members["0g000003"] if m["type"] == "USER"}
    assert direct3 <= got["group0@example.com"]
    assert got["group1@example.com"] == got["group2@example.com"] == got["group3@example.com"]
    assert ("groups group1@example.com, group2@example.com, group3@example.com contain each other (a membership "
            "cycle); each is given the members of all") in snap.notes
    owners = {g.external_id: g.owner for g in snap.groups}
    for g in tenant.groups:
        listed = sorted((m["email"], m["id"]) for m in tenant.members[g["id"]] if m["role"] == "OWNER")
        assert owners[g["email"]] == listed[0][1]


@pytest.mark.parametrize(("direct", "children", "members", "cycles"), [
    ({"a": ["1"], "b": ["2"]}, {"a": ["b"]}, {"a": {"1", "2"}, "b": {"2"}}, ()),
    ({"a": ["1"]}, {"a": ["a"]}, {"a": {"1"}}, (("a",),)),  # a group inside itself
    ({"a": ["1"], "b": ["2"], "c": ["3"], "d": ["4"]}, {"a": ["b", "c"], "b": ["d"], "c": ["d"]},
     {"a": {"1", "2", "3", "4"}, "b": {"2", "4"}, "c": {"3", "4"}, "d": {"4"}}, ()),  # a diamond
    ({"a": [], "b": ["2"], "c": ["3"], "x": ["9"], "y": []},
     {"a": ["b"], "b": ["c"], "c": ["a"], "x": ["y"], "y": ["x"]},
     {"a": {"2", "3"}, "b": {"2", "3"}, "c": {"2", "3"}, "x": {"9"}, "y": {"9"}}, (("a", "b", "c"), ("x", "y"))),
    ({"a": ["1"]}, {"a": ["unknown"]}, {"a": {"1"}}, ()),  # a child nobody could read reaches nothing
])
def test_expand(direct: dict[str, list[str]], children: dict[str, list[str]], members: dict[str, set[str]],
                cycles: tuple[tuple[str, ...], ...]) -> None:
    got = expand(direct, children)
    assert {g: set(m) for g, m in got.members.items()} == members
    assert got.cycles == cycles


def test_expand_a_deep_chain_without_recursion() -> None:
    n = 3000
    got = expand({f"g{i}": [f"u{i}"] for i in range(n)}, {f"g{i}": [f"g{i + 1}"] for i in range(n - 1)})
    assert len(got.members["g0"]) == n and got.members[f"g{n - 1}"] == {f"u{n - 1}"}
