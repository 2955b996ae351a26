"""The shipped policy pack as code: messages in plain words, the person scope (SPEC §3), and the
mechanical part of Regal's rules, checked offline (GitHub CI runs `regal lint policies` itself)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from checker import pipeline, policies
from checker.engines import EngineOptions, PolicyEngine, make_engine
from checker.errors import PolicyError
from checker.join import memberships, person_keys
from checker.models import Group, Inventory
from checker.policies import PolicySet
from testing import real_opa
from tests.conftest import ROOT, run_checker

AS_OF = "2026-11-29"
POLICY_SET = policies.load_dir(ROOT / "policies", "policies")
MAX_LINE = 120  # Regal's line-length default


@pytest.fixture(scope="module")
def embedded() -> Iterator[PolicyEngine]:
    engine = make_engine("embedded", POLICY_SET, EngineOptions(jobs=2))
    yield engine
    engine.close()


def example_findings(engine: PolicyEngine) -> list:
    inv = pipeline.load_inventory(ROOT / "inventories", POLICY_SET, "inventories")
    return pipeline.findings(lambda: engine, inv, AS_OF, POLICY_SET.rules)


# ---------------------------------------------------------------- messages in plain words (issue 11.3)


def test_no_message_of_the_shipped_pack_shows_rego_syntax(embedded: PolicyEngine) -> None:
    found = example_findings(embedded)
    assert {f.rule for f in found} >= set(POLICY_SET.rules)  # every family speaks at least once
    bad = [f.message for f in found if '{"' in f.message or '["' in f.message or '"' in f.message]
    assert bad == []
    assert any("financial and user_pii" in f.message for f in found)
    assert any("DE, ES, FR, IE, IT, NL, PL and SE" in f.message for f in found)


def test_no_sprintf_of_a_set_in_the_pack() -> None:
    """%v prints Rego syntax; every list goes through lib.text.listing."""
    for module in POLICY_SET.modules:
        assert "%v" not in module.source, module.path


LISTINGS = [
    ([], "none"),
    (["US"], "US"),
    (["US", "IE"], "IE and US"),
    (["US", "IE", "DE"], "DE, IE and US"),
    (["US", "US", "IE"], "IE and US"),
    (["user_pii_ext", "user_pii"], "user_pii and user_pii_ext"),
    (["b", "a", "d", "c", "e"], "a, b, c, d and e"),
]
LISTING_QUERY = ('x := {"out": data.lib.text.listing(input.items), '
                 '"in_message": sprintf("(%s)", [data.lib.text.listing(input.items)])}')


def test_listing_on_the_embedded_engine() -> None:
    """Through regopy itself: its concat keeps quotes under sprintf's %s unless trimmed."""
    from checker.engines.embedded import Evaluator

    evaluator = Evaluator([(m.path, m.source) for m in POLICY_SET.modules], POLICY_SET.data, {"group": LISTING_QUERY})
    for items, expected in LISTINGS:
        assert evaluator.evaluate({"items": items}) == {"out": expected, "in_message": f"({expected})"}


@pytest.mark.skipif(not real_opa.available(), reason=real_opa.SKIP_REASON)
def test_listing_under_real_opa_semantics() -> None:
    engine = real_opa.RealOpa(POLICY_SET)
    try:
        answers = engine.queries([(LISTING_QUERY, {"items": items}) for items, _ in LISTINGS])
    finally:
        engine.close()
    assert answers == [(True, {"out": expected, "in_message": f"({expected})"}) for _, expected in LISTINGS]


# ---------------------------------------------------------------- person scope (SPEC §3)


def test_package_names_give_rule_ids_and_scopes() -> None:
    assert policies.rule_id_for("access.owner_location") == "owner-location"
    assert policies.rule_id_for("access.person.sensitive_reach") == "sensitive-reach"
    assert policies.rule_id_for("access.owner_location_test") is None  # Regal's test packages
    assert policies.rule_id_for("access.person.sensitive_reach_test") is None
    assert policies.rule_id_for("access.person.a.b") is None
    assert policies.scope_of("access.person.sensitive_reach") == "person"
    assert POLICY_SET.rules["sensitive-reach"].scope == "person"
    assert POLICY_SET.rules["departed-member"].scope == "group"


def test_test_packages_are_not_rule_families() -> None:
    """A *_test package in a file not named *_test.rego is still not taken for a family."""
    files = {"p/access/a/a.rego": b"package access.a\n\nimport rego.v1\n\ndeny contains \"x\" if false\n",
             "p/access/a/checks.rego": b"package access.a_test\n\nimport rego.v1\n\ndeny contains \"y\" if false\n"}
    assert set(policies.from_files(files).rules) == {"a"}


def test_a_group_and_a_person_family_may_not_share_a_rule_id() -> None:
    files = {"p/access/a/a.rego": b"package access.a\n\nimport rego.v1\n\ndeny contains \"x\" if false\n",
             "p/access/person/a/a.rego": b"package access.person.a\n\nimport rego.v1\n\nwarn contains \"y\" if false\n"}
    with pytest.raises(PolicyError) as caught:
        policies.from_files(files)
    assert "both give rule id a" in str(caught.value.problems)


def test_person_findings_are_located_at_the_person(embedded: PolicyEngine) -> None:
    [reach] = [f for f in example_findings(embedded) if f.rule == "sensitive-reach"]
    assert (reach.group, reach.person, reach.level, reach.measure) == (None, "dana.kowalski", "warn", 13)
    lines = (ROOT / "inventories" / "people" / "us.yaml").read_text().splitlines()
    assert reach.location is not None and reach.location.file == "inventories/people/us.yaml"
    assert lines[reach.location.line - 1].strip() == "- id: dana.kowalski"


def with_group(inv: Inventory, gid: str, **fields: object) -> Inventory:
    group = inv.groups[gid]
    changed: Group = dataclasses.replace(group, fields={**group.fields, **fields})
    return dataclasses.replace(inv, groups={**inv.groups, gid: changed})


def test_person_keys_change_exactly_with_what_person_families_see() -> None:
    inv = pipeline.load_inventory(ROOT / "inventories", POLICY_SET, "inventories")
    keys = person_keys(inv, b"p")
    members = set(inv.groups["slack-privacy-dsar"].members)
    outsiders = set(inv.people) - members
    assert person_keys(inv, b"q").keys() == keys.keys() and set(person_keys(inv, b"q").values()).isdisjoint(
        keys.values())  # the prefix (policies, engine, date) is part of every key

    def changed(other: Inventory) -> set[str]:
        new = person_keys(other, b"p")
        return {pid for pid in keys if new[pid] != keys[pid]}

    # What a person-scope input holds of a group: its classes, jurisdictions, kind, owner, size.
    assert changed(with_group(inv, "slack-privacy-dsar", data_classes=["internal"])) == members
    assert changed(with_group(inv, "slack-privacy-dsar", kind="chat")) == members
    # What it does not hold: a group's description and its access review.
    assert changed(with_group(inv, "slack-privacy-dsar", description="new words")) == set()
    assert changed(with_group(inv, "slack-privacy-dsar", reviewed={"on": "2026-11-01", "by": "ana.ruiz"})) == set()
    # A new member: the group's member_count changes for everyone in it, and the newcomer's groups.
    newcomer = sorted(outsiders)[0]
    group = inv.groups["slack-privacy-dsar"]
    bigger = dataclasses.replace(inv, groups={**inv.groups, group.id: dataclasses.replace(
        group, members=(*group.members, newcomer))})
    assert changed(bigger) == members | {newcomer}
    # A person's own record.
    person = inv.people[newcomer]
    moved = dataclasses.replace(person, record={**person.record, "location": "CN"})
    moved.__dict__.pop("content_key", None)
    assert changed(dataclasses.replace(inv, people={**inv.people, newcomer: moved})) == {newcomer}
    assert set(memberships(inv)) == set(inv.people)  # people in no group are evaluated too


def test_person_scope_results_are_cached_like_group_results(example_repo: Path, tmp_path: Path) -> None:
    env = {"CHECKER_CACHE_DIR": str(tmp_path / "cache"), "CHECKER_TIMINGS": "1"}
    args = ("audit", "--as-of", AS_OF, "--format", "json", "--fail-on", "never")

    def run() -> tuple[list[dict], str]:
        proc = run_checker(*args, cwd=example_repo, env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["findings"], proc.stderr

    cold, cold_log = run()
    people = len(pipeline.load_inventory(example_repo / "inventories", POLICY_SET, "i").people)
    assert f"evaluate {people} people" in cold_log
    warm, warm_log = run()
    assert not re.search(r"evaluate \d+ (people|groups)", warm_log) and warm == cold  # nothing evaluated again
    # Joining a sensitive group changes the person's key (and the group's members' keys), nothing else.
    path = example_repo / "inventories" / "groups" / "slack" / "growth-experiments.yaml"
    path.write_text(path.read_text().replace("data_classes: [internal]", "data_classes: [user_pii]"))
    _, changed_log = run()
    assert "evaluate 6 people" in changed_log  # the owner and the five others in the group


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "github", "markdown", "junit", "html"])
def test_person_scope_findings_in_every_format(fmt: str) -> None:
    proc = run_checker("audit", "--as-of", AS_OF, "--format", fmt, "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    assert "sensitive-reach" in proc.stdout and "dana.kowalski is in 13 groups" in proc.stdout.replace("\\n", " ")


# ---------------------------------------------------------------- Regal's mechanical rules, offline


def test_packages_mirror_directories_and_tests_live_in_test_packages() -> None:
    """directory-package-mismatch and test-outside-test-package (.regal/config.yaml keeps both on)."""
    for module in [*POLICY_SET.modules, *POLICY_SET.test_modules]:
        package = module.package
        assert package is not None
        is_test = module.path.endswith("_test.rego")
        assert package.endswith("_test") == is_test, module.path
        folder = module.path.rsplit("/", 1)[0].split("/")
        parts = package.removesuffix("_test").split(".")
        assert folder[-len(parts):] == parts, f"{module.path}: package {package}"


def test_lines_fit_and_every_family_has_metadata() -> None:
    rego = sorted((ROOT / "policies").rglob("*.rego"))
    assert len(rego) >= 26
    for path in rego:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            assert len(line) <= MAX_LINE, f"{path}:{number} is {len(line)} characters"
    for rule in POLICY_SET.rules.values():
        assert rule.title and rule.description and rule.remediation and rule.severity, rule.rule_id


def test_regal_config_gives_a_reason_for_every_disabled_rule() -> None:
    config = yaml.safe_load((ROOT / ".regal" / "config.yaml").read_text())
    text = (ROOT / ".regal" / "config.yaml").read_text()
    disabled = [(category, name) for category, rules in config["rules"].items() for name, rule in rules.items()
                if rule.get("level") == "ignore"]
    assert disabled
    for _category, name in disabled:
        assert re.search(rf"#.+\n\s+{re.escape(name)}:", text), f"{name} is disabled without a reason"
    kept = {name for rules in config["rules"].values() for name, rule in rules.items() if rule.get("level") != "ignore"}
    assert {"directory-package-mismatch", "line-length"} <= kept


def test_policy_set_layout_is_what_checker_reads() -> None:
    """Moving the pack under policies/access/ lost nothing: every family, case file and test module."""
    pack: PolicySet = POLICY_SET
    assert {r.file.split("/")[1] for r in pack.rules.values()} == {"access"}
    assert len(pack.case_files) == len(pack.rules)


def test_reach_changes_point_at_the_member_entry_that_added_the_reach() -> None:
    """What diff needs to locate a person-scope finding a change introduced (SPEC §3, §7)."""
    from checker.evaluate import reach_changes

    base = pipeline.load_inventory(ROOT / "inventories", POLICY_SET, "inventories")
    group = base.groups["lark-us-ttsafety-escalations"]  # dana.kowalski's fourteenth, if she joins
    joined = dataclasses.replace(group, members=(*group.members, "dana.kowalski"),
                                 member_lines={**group.member_lines, "dana.kowalski": 99})
    head = dataclasses.replace(base, groups={**base.groups, group.id: joined})
    assert reach_changes("dana.kowalski", base, head) == [dataclasses.replace(group.location, line=99)]
    assert reach_changes("dana.kowalski", base, base) == []  # only her record could have changed
    # Everyone already in the group sees its member_count change: their entries are the cause.
    assert reach_changes("mei.chen", base, head) == [
        dataclasses.replace(group.location, line=group.member_lines["mei.chen"])]
    # A description is not part of what person-scope families see.
    described = dataclasses.replace(group, fields={**group.fields, "description": "new"})
    assert reach_changes("mei.chen", base, dataclasses.replace(base, groups={**base.groups,
                                                                             group.id: described})) == []
