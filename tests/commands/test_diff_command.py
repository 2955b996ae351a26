"""`checker diff` end to end on real git repositories: classification, attribution, impact, errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from checker.cli import main
from testing.gitorg import CN_REVIEW, INVENTORY, POLICIES, GitOrg, changed_group, make_org
from tests.conftest import run_checker

AS_OF = "2026-11-29"
GROUP = "inventories/groups/us-escalations.yaml"
CN = "inventories/groups/cn-review.yaml"
PEOPLE = "inventories/people/us.yaml"


@pytest.fixture
def org(tmp_path: Path) -> GitOrg:
    return make_org(tmp_path / "repo")


def run_diff(org: GitOrg, *extra: str, base: str = "main", cache: bool = False, extra_head: str | None = None
             ) -> tuple[int, Any, str]:
    """(exit code, JSON document or None, stderr) of `checker diff --format json`."""
    head = ["--head", extra_head] if extra_head else []
    result = CliRunner().invoke(main, ["diff", "--base", base, *head, "--repo", str(org.root), "--as-of", AS_OF,
                                       "--format", "json", *([] if cache else ["--no-cache"]), *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    doc = json.loads(result.stdout) if result.stdout.strip() else None
    return result.exit_code, doc, result.stderr


def changes(doc: Any, key: str = "findings") -> set[tuple[str, str, str | None, str, str]]:
    """(change, rule, person, file, line) of each finding, as a set to compare."""
    return {(f["change"], f["rule"], f["person"], f["location"]["file"], f["location"]["line"])
            for f in doc[key]}


UNCHANGED_CN = ("unchanged", "owner-location", None, CN, 2)


# ---------------------------------------------------------------- classification and attribution


def test_member_added_is_introduced_at_the_member_entry(org: GitOrg) -> None:
    org.edit(GROUP, "      - bob\n", "      - bob\n      - li\n")
    org.commit()
    code, doc, _ = run_diff(org)
    assert code == 1
    assert changes(doc) == {("introduced", "member-location", "li", GROUP, 9), UNCHANGED_CN}
    assert doc["command"] == "diff" and doc["as_of"] == AS_OF
    summary = doc["summary"]
    assert (summary["introduced"], summary["resolved"], summary["unchanged"], summary["deny"]) == (1, 0, 1, 2)
    assert (doc["base"], doc["head"], doc["merge_base"]) == ("main", "HEAD", org.git("rev-parse", "main"))
    assert doc["policies_changed"] is False and doc["policy_impact"] == []


def test_person_moved_abroad_is_located_at_their_record(org: GitOrg) -> None:
    org.edit(PEOPLE, "  - id: bob\n    location: US", "  - id: bob\n    location: DE")
    org.commit("bob moves to Berlin")
    code, doc, _ = run_diff(org)
    assert code == 1
    # bob is in both groups; neither group file changed, the people file did: both at bob's record
    introduced = {(f["group"], f["rule"], f["person"], f["location"]["file"], f["location"]["line"])
                  for f in doc["findings"] if f["change"] == "introduced"}
    assert introduced == {("us-escalations", "member-location", "bob", PEOPLE, 6),
                          ("cn-review", "member-location", "bob", PEOPLE, 6)}
    assert UNCHANGED_CN in changes(doc)
    assert doc["summary"]["introduced"] == 2


def test_group_added_and_group_deleted(org: GitOrg) -> None:
    org.write({"inventories/groups/cn-growth.yaml": CN_REVIEW.replace("cn-review", "cn-growth")})
    org.commit()
    code, doc, _ = run_diff(org)
    assert code == 1
    assert changes(doc) == {("introduced", "owner-location", None, "inventories/groups/cn-growth.yaml", 2),
                            UNCHANGED_CN}
    org.remove(CN)
    org.commit()
    code, doc, _ = run_diff(org)
    assert ("resolved", "owner-location", None, CN, 2) in changes(doc)
    org.remove("inventories/groups/cn-growth.yaml")
    org.commit()
    code, doc, _ = run_diff(org)
    assert code == 0  # resolving findings never fails a change
    assert changes(doc) == {("resolved", "owner-location", None, CN, 2)}
    assert doc["summary"]["deny"] == 0  # counts are what the head still has


def test_renamed_file_is_neither_introduced_nor_resolved(org: GitOrg) -> None:
    org.git("mv", CN, "inventories/groups/review.yaml")
    org.git("mv", "inventories/people", "inventories/staff")
    org.commit("reorganise")
    code, doc, _ = run_diff(org)
    assert code == 0
    assert changes(doc) == {("unchanged", "owner-location", None, "inventories/groups/review.yaml", 2)}


def test_base_branch_moving_on_is_not_the_change(org: GitOrg) -> None:
    branch_point = org.git("rev-parse", "HEAD")
    org.edit(CN, "members: [bob]", "members: [bob, eva]")
    org.commit("the change: eva joins cn-review")
    org.checkout("main")
    org.edit(GROUP, "      - bob\n", "      - bob\n      - li\n")  # main, after the branch point
    org.remove(CN)
    org.commit("main moves on")
    org.checkout("pr")
    code, doc, _ = run_diff(org)
    assert code == 1
    assert doc["merge_base"] == branch_point != org.git("rev-parse", "main")
    # li's finding (main's doing) and cn-review's deletion on main appear nowhere
    assert changes(doc) == {("introduced", "member-location", "eva", CN, 6), UNCHANGED_CN}


def test_clean_change_exits_0(org: GitOrg) -> None:
    org.edit(GROUP, "platform: lark", "platform: slack")
    org.commit()
    code, doc, stderr = run_diff(org)
    assert code == 0, stderr
    assert changes(doc) == {UNCHANGED_CN}


def test_waiver_removed_brings_a_finding_back(org: GitOrg) -> None:
    org.checkout("main")
    org.write({"inventories/waivers.yaml": "waivers:\n  - id: w-1\n    rule: owner-location\n"
                                           "    group: cn-review\n    reason: moving\n    approved_by: ana\n"
                                           "    expires: 2027-01-31\n"})
    org.commit("waive")
    org.git("checkout", "-q", "-B", "pr")
    _, doc, _ = run_diff(org)
    [waived] = doc["findings"]
    assert (waived["change"], waived["waived"], waived["waiver"]) == ("unchanged", True, "w-1")
    org.remove("inventories/waivers.yaml")
    org.commit("drop the waiver")
    code, doc, _ = run_diff(org)
    assert code == 1
    assert changes(doc) == {("introduced", "owner-location", None, CN, 2)}


def test_the_working_tree_is_neither_read_nor_touched(org: GitOrg) -> None:
    org.edit(GROUP, "      - bob\n", "      - bob\n      - li\n")  # not committed
    status = org.git("status", "--porcelain")
    index = (org.root / ".git/index").read_bytes()
    code, doc, _ = run_diff(org)
    assert code == 0 and changes(doc) == {UNCHANGED_CN}
    assert org.git("status", "--porcelain") == status
    assert (org.root / ".git/index").read_bytes() == index


def test_head_option_and_absolute_folders(org: GitOrg) -> None:
    org.edit(GROUP, "      - bob\n", "      - bob\n      - li\n")
    change = org.commit()
    org.checkout("main")  # the checked-out branch does not matter
    code, doc, _ = run_diff(org, "--head", change, "--inventories", str(org.root / "inventories"),
                            "--policies", str(org.root / "policies"))
    assert code == 1
    assert ("introduced", "member-location", "li", GROUP, 9) in changes(doc)


def test_each_distinct_group_input_is_evaluated_once(org: GitOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    from checker.engines.embedded import EmbeddedEngine

    evaluated: list[str] = []
    real = EmbeddedEngine.evaluate

    def counting(self: EmbeddedEngine, inputs: Any) -> Any:  # the real engine, counted
        evaluated.extend(doc["group"]["id"] for _, doc in inputs)
        return real(self, inputs)

    monkeypatch.setattr(EmbeddedEngine, "evaluate", counting)
    org.edit(GROUP, "      - bob\n", "      - bob\n      - li\n")
    org.commit()
    run_diff(org)  # no cache: cn-review is the same on both sides, us-escalations differs
    assert sorted(evaluated) == ["cn-review", "us-escalations", "us-escalations"]
    evaluated.clear()
    first = run_diff(org, cache=True)
    assert len(evaluated) == 3
    evaluated.clear()
    assert run_diff(org, cache=True) == first  # everything from the cache
    assert evaluated == []
    org.edit(CN, "members: [bob]", "members: [bob, eva]")
    org.commit()
    code, doc, _ = run_diff(org, cache=True)
    assert evaluated == ["cn-review"]  # only the group whose input is new
    assert code == 1 and ("introduced", "member-location", "eva", CN, 6) in changes(doc)


# ---------------------------------------------------------------- policies: the merge base's judge


def test_deleting_a_rule_does_not_silence_it(org: GitOrg) -> None:
    org.remove("policies/owner_location")
    org.write({"inventories/groups/cn-growth.yaml": CN_REVIEW.replace("cn-review", "cn-growth")})
    org.commit("drop owner-location, add a group it would catch")
    code, doc, _ = run_diff(org)
    assert code == 1  # still judged by the merge base's rules
    assert changes(doc) == {("introduced", "owner-location", None, "inventories/groups/cn-growth.yaml", 2),
                            UNCHANGED_CN}
    assert doc["policies_changed"] is True
    assert {(f["change"], f["rule"], f["group"]) for f in doc["policy_impact"]} == {
        ("resolved", "owner-location", "cn-review"), ("resolved", "owner-location", "cn-growth")}


def test_a_new_rule_shows_its_impact(org: GitOrg) -> None:
    org.write({"policies/owner_everywhere/owner_everywhere.rego":
               "package access.owner_everywhere\n\nimport rego.v1\n\n"
               "warn contains msg if {\n\tinput.group.owner.id == \"ana\"\n\tmsg := \"ana owns it\"\n}\n"})
    org.commit()
    code, doc, _ = run_diff(org)
    assert code == 0
    assert changes(doc) == {UNCHANGED_CN}  # the new rule does not judge this change
    assert changes(doc, "policy_impact") == {("introduced", "owner-everywhere", None, GROUP, 2)}


def test_a_change_to_policy_tests_only_has_no_impact(org: GitOrg) -> None:
    org.write({"policies/group_size/group_size_test.rego": "package access.group_size_test\n"})
    org.commit()
    code, doc, _ = run_diff(org)
    assert code == 0
    assert doc["policies_changed"] is True and doc["policy_impact"] == []


def test_broken_head_policies_fail_the_run_naming_the_file(org: GitOrg) -> None:
    org.write({"policies/group_size/group_size.rego": "package access.group_size\n\ndeny contains if {\n"})
    org.commit()
    code, doc, stderr = run_diff(org)
    assert code == 2 and doc["error"] is True  # SPEC §7: the error document
    assert "policies/group_size/group_size.rego" in stderr
    assert "cannot be merged" in stderr


def test_head_data_that_breaks_the_inventory_fails_the_run(org: GitOrg) -> None:
    org.edit("policies/data.yaml", "  user_pii: {sensitive: true, max_members: 4}\n", "")
    org.commit("drop a data class still in use")
    code, _, stderr = run_diff(org)
    assert code == 2
    assert "user_pii" in stderr and GROUP in stderr


def test_using_a_data_class_the_change_adds_explains_itself(org: GitOrg) -> None:
    org.edit("policies/data.yaml", "  public: {sensitive: false}\n",
             "  public: {sensitive: false}\n  health: {sensitive: true}\n")
    org.edit(GROUP, "data_classes: [user_pii]", "data_classes: [user_pii, health]")
    org.commit()
    code, _, stderr = run_diff(org)
    assert code == 2
    assert f"{GROUP}:9" in stderr and "unknown data class 'health'" in stderr
    assert "judged by the policies at the tip of the base" in stderr


# ---------------------------------------------------------------- new repositories and missing folders


def test_new_repository_without_inventory_at_the_base(tmp_path: Path) -> None:
    org = make_org(tmp_path / "repo", with_inventory=False)
    org.write(INVENTORY)
    org.commit("the first inventory")
    code, doc, _ = run_diff(org)
    assert code == 1
    assert changes(doc) == {("introduced", "owner-location", None, CN, 2)}


def test_bootstrap_change_is_judged_by_its_own_policies_only_when_asked(tmp_path: Path) -> None:
    org = GitOrg(tmp_path / "repo")
    org.write({"README": "hello\n"})
    org.commit("empty")
    org.branch("pr")
    org.write({**POLICIES, **INVENTORY})
    org.commit("adopt the checker")
    code, doc, stderr = run_diff(org)
    assert code == 2 and doc["error"] is True  # issue 9.2: never judged by its own policies by default
    assert "no policy folder at the tip of main" in stderr and "--bootstrap" in stderr
    code, doc, stderr = run_diff(org, "--bootstrap")
    assert code == 1
    assert "--bootstrap" in stderr and "judged by its own policies" in stderr
    assert doc["bootstrap"] is True and doc["policies_commit"] == doc["head_commit"]
    assert changes(doc) == {("introduced", "owner-location", None, CN, 2)}


def test_base_without_policies_is_an_error(tmp_path: Path) -> None:
    org = GitOrg(tmp_path / "repo")
    org.write(INVENTORY)
    org.commit("inventory only")
    org.branch("pr")
    org.write(POLICIES)
    org.commit()
    code, _, stderr = run_diff(org)
    assert code == 2
    assert "no policy folder" in stderr and "nothing to judge" in stderr


# ---------------------------------------------------------------- the base tip's policies judge (issue 9.2)


def test_a_branch_cut_before_a_rule_tightened_is_judged_by_todays_rules(org: GitOrg) -> None:
    org.checkout("main")
    org.edit("policies/data.yaml", "user_pii: {sensitive: true, max_members: 4}",
             "user_pii: {sensitive: true, max_members: 2}")
    tip = org.commit("main: at most 2 people with user data")
    org.checkout("pr")  # cut before that
    org.edit(GROUP, "      - bob\n", "      - bob\n      - cy\n")
    org.commit("cy joins us-escalations (3 members)")
    code, doc, _ = run_diff(org)
    assert code == 1
    assert ("introduced", "group-size", None, GROUP, 9) in changes(doc)
    assert doc["policies_commit"] == tip and doc["bootstrap"] is False
    assert doc["policies_changed"] is False  # the change itself did not touch them


def test_a_branch_cut_before_the_policies_existed_is_judged_by_the_base(tmp_path: Path) -> None:
    org = GitOrg(tmp_path / "repo")
    org.write({"README": "hello\n"})
    org.commit("empty")
    org.branch("pr")
    org.checkout("main")
    org.write(POLICIES)
    org.commit("main adopts the policies")
    org.checkout("pr")
    lenient = {path: text for path, text in POLICIES.items() if "location" not in path}
    org.write({**lenient, **INVENTORY})
    org.commit("an inventory, and policies without the location rules")
    for extra in ((), ("--bootstrap",)):  # --bootstrap changes nothing where the base has policies
        code, doc, stderr = run_diff(org, *extra)
        assert code == 1, stderr
        assert ("introduced", "owner-location", None, CN, 2) in changes(doc)
        assert doc["bootstrap"] is False and doc["policies_commit"] == org.git("rev-parse", "main")


def test_a_base_that_dropped_its_policies_needs_bootstrap(org: GitOrg) -> None:
    org.checkout("main")
    org.remove("policies")
    org.commit("main drops the policies")
    org.checkout("pr")
    org.edit(GROUP, "      - bob\n", "      - bob\n      - li\n")
    org.commit()
    code, _, stderr = run_diff(org)
    assert code == 2 and "no policy folder at the tip of main" in stderr


def test_inventory_folder_missing_at_the_head_is_an_error(org: GitOrg) -> None:
    code, _, stderr = run_diff(org, "--inventories", "inventory")  # a typo: on neither side
    assert code == 2 and "no inventory folder at the head" in stderr
    org.remove("inventories")
    org.commit()
    code, _, stderr = run_diff(org)
    assert code == 2 and "no inventory folder at the head" in stderr


def test_head_without_policies_is_an_error(org: GitOrg) -> None:
    org.remove("policies")
    org.commit()
    code, _, stderr = run_diff(org)
    assert code == 2 and "no policy folder at the head" in stderr


# ---------------------------------------------------------------- errors


def test_unknown_ref(org: GitOrg) -> None:
    code, doc, stderr = run_diff(org, base="origin/nope")
    assert code == 2 and doc["error"] is True  # SPEC §7: the error document
    assert "--base 'origin/nope': unknown git ref" in stderr


def test_a_tag_shadowing_the_base_branch_is_refused(org: GitOrg) -> None:
    """Issue 9.1: a pushed tag `origin/main` at an old commit must not become the comparison point."""
    old = org.git("rev-parse", "main")
    org.checkout("main")
    org.edit(CN, "members: [bob]", "members: [bob, eva]")
    org.git("update-ref", "refs/remotes/origin/main", org.commit("main: eva joins cn-review"))
    org.checkout("pr")
    org.git("merge", "-q", "main")
    org.git("tag", "origin/main", old)
    code, doc, stderr = run_diff(org, base="origin/main")
    assert code == 2 and doc["error"] is True
    assert "ambiguous" in stderr and "refs/tags/origin/main" in stderr and "refs/remotes/origin/main" in stderr
    code, _, stderr = run_diff(org, base="main", extra_head="origin/main")
    assert code == 2 and "--head 'origin/main': ambiguous" in stderr
    code, doc, _ = run_diff(org, base="refs/remotes/origin/main")  # the full name: the real tip
    assert code == 0 and doc["merge_base"] == org.git("rev-parse", "refs/remotes/origin/main")
    assert ("unchanged", "member-location", "eva", CN, 6) in changes(doc)


def test_an_ambiguous_history_ref_is_refused(org: GitOrg) -> None:
    org.git("tag", "pr", "main")
    result = CliRunner().invoke(main, ["audit", "--history", "pr", "--inventories", str(org.root / "inventories"),
                                       "--policies", str(org.root / "policies"), "--as-of", AS_OF, "--no-cache"])
    assert result.exit_code == 2
    assert "--history 'pr': ambiguous" in result.stderr


def test_not_a_git_repository(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["diff", "--base", "main", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a git repository" in result.stderr


def test_shallow_clone_without_the_merge_base(org: GitOrg, tmp_path: Path) -> None:
    org.edit(GROUP, "      - bob\n", "      - bob\n      - li\n")
    org.commit()
    org.checkout("main")
    org.edit(GROUP, "platform: lark", "platform: slack")
    org.commit()
    clone = GitOrg(tmp_path / "clone-parent")
    clone.git("clone", "-q", "--depth", "1", "--no-single-branch", f"file://{org.root}", "clone")
    result = CliRunner().invoke(main, ["diff", "--base", "origin/main", "--head", "origin/pr", "--repo",
                                       str(clone.root / "clone"), "--as-of", AS_OF, "--no-cache"])
    assert result.exit_code == 2
    assert "shallow" in result.stderr
    assert "fetch-depth: 0, or git fetch --unshallow" in result.stderr


def test_unrelated_histories(org: GitOrg) -> None:
    org.git("checkout", "-q", "--orphan", "other")
    org.commit("unrelated")
    code, _, stderr = run_diff(org)
    assert code == 2 and "no merge base" in stderr


def test_symlink_out_of_the_inventory_fails_the_run(org: GitOrg) -> None:
    os.symlink("/etc/hostname", org.root / "inventories/host.yaml")
    org.commit()
    code, _, stderr = run_diff(org)
    assert code == 2
    assert "inventories/host.yaml" in stderr and "leaves the folder" in stderr


def test_huge_file_fails_the_run_unread(org: GitOrg) -> None:
    org.write({"inventories/huge.yaml": "people: []\n" + "#" * 3000 + "\n"})
    org.commit()
    result = CliRunner(env={"CHECKER_MAX_FILE_BYTES": "2048"}).invoke(
        main, ["diff", "--base", "main", "--repo", str(org.root), "--as-of", AS_OF, "--no-cache"])
    assert result.exit_code == 2
    assert "inventories/huge.yaml" in result.stderr and "over the limit of 2,048" in result.stderr


def test_invalid_base_inventory_is_compared_as_empty(org: GitOrg) -> None:
    org.checkout("main")
    org.edit(GROUP, "owner: ana", "owner: nobody")
    broken = org.commit("break main")
    org.git("checkout", "-q", "-B", "pr")
    org.edit(GROUP, "platform: lark", "platform: slack")
    org.commit("does not repair it")
    code, _, stderr = run_diff(org)
    assert code == 2 and "the inventory at the head" in stderr
    org.edit(GROUP, "owner: nobody", "owner: ana")
    org.commit("repairs main")
    code, doc, stderr = run_diff(org)
    assert code == 1  # the strictest reading: everything at the head is introduced
    assert f"{broken[:12]}:{GROUP}:5" in stderr and "compared as empty" in stderr
    assert changes(doc) == {("introduced", "owner-location", None, CN, 2)}


# ---------------------------------------------------------------- the real command line


def test_command_line_table_output(org: GitOrg) -> None:
    org.edit(GROUP, "      - bob\n", "      - bob\n      - li\n")
    org.commit()
    proc = run_checker("diff", "--base", "main", "--repo", str(org.root), "--as-of", AS_OF, "--no-cache",
                       "--format", "table")
    assert proc.returncode == 1, proc.stderr
    assert "Introduced (1)" in proc.stdout and f"\n{GROUP}\n  9  deny  member-location" in proc.stdout
    proc = run_checker("diff", "--base", "main", "--repo", str(org.root), "--as-of", AS_OF, "--no-cache",
                       "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr



# ---------------------------------------------------------------- self-granted exceptions (issue 9.3, SPEC §5)

WAIVERS = "inventories/waivers.yaml"


DEFAULTS = {"reason": "tracked in SEC-1", "approved_by": "eva", "expires": "2199-12-31"}


def waiver_file(*waivers: dict[str, str]) -> dict[str, str]:
    text = "waivers:\n"
    for w in waivers:
        fields = {**w, **{k: v for k, v in DEFAULTS.items() if k not in w}}  # id first
        text += "  - " + "\n    ".join(f"{k}: {v}" for k, v in fields.items()) + "\n"
    return {WAIVERS: text}


def on_main(org: GitOrg, files: dict[str, str], message: str = "on main") -> None:
    org.checkout("main")
    org.write(files)
    org.commit(message)
    org.git("checkout", "-q", "-B", "pr")


def finding_of(doc: Any, rule: str, person: str | None = None, group: str = "us-escalations") -> dict[str, Any]:
    [found] = [f for f in doc["findings"] if (f["rule"], f["person"], f["group"]) == (rule, person, group)]
    return found


LI_JOINS = ("      - bob\n", "      - bob\n      - li\n")
LI_WAIVER = {"id": "w-li", "rule": "member-location", "group": "us-escalations", "person": "li"}


def test_a_waiver_the_change_adds_does_not_suppress_what_it_introduces(org: GitOrg) -> None:
    org.edit(GROUP, *LI_JOINS)
    org.write(waiver_file(LI_WAIVER))
    org.commit("li joins, with an exception for li")
    code, doc, _ = run_diff(org)
    assert code == 1
    found = finding_of(doc, "member-location", "li")
    assert (found["change"], found["waived"], found["waiver"], found["waiver_change"]) == (
        "introduced", False, "w-li", "added")
    assert not [f for f in doc["findings"] if f["rule"] == "waiver-unused"]  # it is the exception granted
    code, doc, _ = run_diff(org, "--accept-new-waivers")
    assert code == 0
    found = finding_of(doc, "member-location", "li")
    assert (found["waived"], found["waiver"], "waiver_change" in found) == (True, "w-li", False)
    assert doc["accept_new_waivers"] is True


@pytest.mark.parametrize("before, after", [
    ({"expires": "2026-01-31"}, {}),  # expired at the base: renewed by the change
    ({"person": "eva"}, {"person": None}),  # narrowed to someone else: widened to the whole group
    ({"rule": "owner-location"}, {}),  # another rule: retargeted
])
def test_a_waiver_the_change_extends_does_not_suppress_what_it_introduces(
        org: GitOrg, before: dict[str, str], after: dict[str, str | None]) -> None:
    base = {**LI_WAIVER, **before}
    on_main(org, waiver_file(base))
    head = {k: v for k, v in {**LI_WAIVER, **after}.items() if v is not None}
    org.edit(GROUP, *LI_JOINS)
    org.write(waiver_file(head))
    org.commit("li joins, and the waiver now covers it")
    code, doc, _ = run_diff(org)
    assert code == 1
    found = finding_of(doc, "member-location", "li")
    expected = "added" if "rule" in before else "extended"
    assert (found["change"], found["waived"], found["waiver_change"]) == ("introduced", False, expected)


def test_a_waiver_the_change_leaves_alone_applies_as_usual(org: GitOrg) -> None:
    group_wide = {**LI_WAIVER, "id": "w-group"}
    del group_wide["person"]
    on_main(org, waiver_file(group_wide))
    org.edit(GROUP, *LI_JOINS)
    org.edit(WAIVERS, "reason: tracked in SEC-1", "reason: tracked in SEC-2")  # edited, not extended
    org.commit("li joins, covered by the group's standing exception")
    code, doc, _ = run_diff(org)
    assert code == 0
    found = finding_of(doc, "member-location", "li")
    assert (found["change"], found["waived"], found["waiver"]) == ("introduced", True, "w-group")


@pytest.mark.parametrize("approver", ["ana", "li"])  # us-escalations' owner; the person it names
def test_a_self_approved_waiver_suppresses_nothing(org: GitOrg, approver: str) -> None:
    org.edit(GROUP, *LI_JOINS)
    org.write(waiver_file({**LI_WAIVER, "approved_by": approver}))
    org.commit()
    code, doc, _ = run_diff(org, "--accept-new-waivers")
    assert code == 1
    found = finding_of(doc, "member-location", "li")
    assert (found["change"], found["waived"]) == ("introduced", False)
    selfish = finding_of(doc, "waiver-self-approved")
    assert (selfish["level"], selfish["waiver"], selfish["change"]) == ("deny", "w-li", "introduced")
    assert selfish["location"] == {"file": WAIVERS, "line": 2}
    assert not [f for f in doc["findings"] if f["rule"] == "waiver-unused"]
    audit = CliRunner().invoke(main, ["audit", "--inventories", str(org.root / "inventories"), "--policies",
                                      str(org.root / "policies"), "--as-of", AS_OF, "--format", "json",
                                      "--no-cache"])
    assert audit.exit_code == 1
    rules = {(f["rule"], f["waived"]) for f in json.loads(audit.stdout)["findings"]}
    assert ("waiver-self-approved", False) in rules and ("member-location", False) in rules


# ---------------------------------------------------------------- worse is not unchanged (issue 9.5, SPEC §7)

MEASURED_SIZE = """\
# METADATA
# title: Too many members for the data
package access.group_size

import rego.v1

deny contains {"msg": msg, "measure": count(g.members)} if {
\tg := input.group
\tsome c in g.data_classes
\tlimit := data.data_classes[c].max_members
\tcount(g.members) > limit
\tmsg := sprintf("group %s has %d members, over %d for %s", [g.id, count(g.members), limit, c])
}
"""


@pytest.fixture
def measured(org: GitOrg) -> GitOrg:
    """The size rule with a measure, and us-escalations (ana, bob) already over its limit at the base."""
    org.edit("policies/data.yaml", "max_members: 4", "max_members: 0")
    on_main(org, {"policies/group_size/group_size.rego": MEASURED_SIZE}, "size rule with a measure")
    return org


def test_a_group_that_grows_is_worsened(measured: GitOrg) -> None:
    measured.edit(GROUP, "      - bob\n", "      - bob\n      - cy\n")
    measured.commit("cy joins: 3 members")
    code, doc, _ = run_diff(measured)
    assert code == 1
    found = finding_of(doc, "group-size")
    assert (found["change"], found["measure"], found["location"]) == ("worsened", 3, {"file": GROUP, "line": 9})
    assert doc["summary"]["worsened"] == 1 and doc["summary"]["introduced"] == 0
    code, _, _ = run_diff(measured, "--fail-on", "never")
    assert code == 0


def test_a_group_that_shrinks_is_not_worsened(measured: GitOrg) -> None:
    measured.edit("inventories/groups/us-escalations.yaml", "      - bob\n", "")
    measured.commit("bob leaves: 1 member, still over")
    code, doc, _ = run_diff(measured)
    assert code == 0
    assert finding_of(doc, "group-size")["change"] == "unchanged"


def test_without_a_measure_a_changed_message_is_worsened(org: GitOrg) -> None:
    org.edit(CN, "owner: li", "owner: eva")  # one foreign owner swapped for another
    org.commit()
    code, doc, _ = run_diff(org)
    assert code == 1
    found = finding_of(doc, "owner-location", group="cn-review")
    assert (found["change"], found["location"]["line"]) == ("worsened", 5)
    assert "measure" not in found


def test_a_worsened_finding_under_a_standing_waiver_stays_waived_but_not_under_an_extended_one(
        measured: GitOrg) -> None:
    size_waiver = {"id": "w-size", "rule": "group-size", "group": "us-escalations", "expires": "2027-01-31"}
    on_main(measured, waiver_file(size_waiver))
    measured.edit(GROUP, "      - bob\n", "      - bob\n      - cy\n")
    measured.commit("cy joins")
    code, doc, _ = run_diff(measured)
    assert code == 0 and finding_of(doc, "group-size")["waived"] is True
    measured.edit(WAIVERS, "expires: 2027-01-31", "expires: 2099-01-31")
    measured.commit("and the exception is extended")
    code, doc, _ = run_diff(measured)
    assert code == 1
    found = finding_of(doc, "group-size")
    assert (found["change"], found["waived"], found["waiver_change"]) == ("worsened", False, "extended")


def test_a_measure_that_is_not_a_number_fails_the_run(org: GitOrg) -> None:
    on_main(org, {"policies/group_size/group_size.rego": MEASURED_SIZE.replace('count(g.members)}', '"big"}')})
    org.edit(GROUP, "      - bob\n", "      - bob\n      - cy\n      - eva\n      - li\n")
    org.commit()
    code, _, stderr = run_diff(org)
    assert code == 2
    assert "policies/group_size/group_size.rego" in stderr and "`measure` must be a number" in stderr


# ---------------------------------------------------------------- audit and diff read the same files (issue 9.8, 9.14)

EXTRA_CN = CN_REVIEW.replace("cn-review", "cn-extra")
TRICKY = [
    # (name, where the trick is committed, files, links {path: target}, what both must do)
    pytest.param("upper-case suffix", "pr", {"inventories/groups/extra.YAML": EXTRA_CN}, {}, "read"),
    pytest.param("mixed-case suffix", "pr", {"inventories/groups/extra.Yml": EXTRA_CN}, {}, "read"),
    pytest.param("hidden folder", "pr", {"inventories/.staging/extra.yaml": EXTRA_CN}, {}, "read"),
    pytest.param("link into a hidden folder", "pr", {"inventories/.staging/extra.yaml": EXTRA_CN},
                 {"inventories/groups/extra.yaml": "../.staging/extra.yaml"}, "read"),
    pytest.param("broken link", "pr", {}, {"inventories/groups/extra.yaml": "gone.yaml"}, "error"),
    pytest.param("link leaving the folder", "pr", {}, {"inventories/groups/extra.yaml": "../../policies/data.yaml"},
                 "error"),
    pytest.param("symlink loop", "pr", {}, {"inventories/groups/extra.yaml": "extra.yaml"}, "error"),
    pytest.param("two-link loop", "pr", {}, {"inventories/a.yaml": "b.yaml", "inventories/b.yaml": "a.yaml"},
                 "error"),
    pytest.param("hidden policy file", "main", {"policies/.extra/broken.rego": "package access.broken\n\ndeny {"},
                 {}, "error"),
    pytest.param("broken link among the policies", "main", {}, {"policies/extra.rego": "gone.rego"}, "error"),
    pytest.param("policy link loop", "main", {}, {"policies/extra.rego": "extra.rego"}, "error"),
]


@pytest.mark.parametrize("name, where, files, links, expected", TRICKY)
def test_audit_and_diff_read_the_same_files(org: GitOrg, monkeypatch: pytest.MonkeyPatch, name: str, where: str,
                                            files: dict[str, str], links: dict[str, str], expected: str) -> None:
    org.checkout(where)
    org.write(files)
    for path, target in links.items():
        os.symlink(target, org.root / path)
    org.commit(name)
    if where == "main":
        org.git("checkout", "-q", "-B", "pr")
    monkeypatch.chdir(org.root)  # audit shows paths relative to the working directory: here, the repository's
    audit = CliRunner().invoke(main, ["audit", "--as-of", AS_OF, "--format", "json", "--no-cache"])
    code, doc, stderr = run_diff(org)
    if expected == "error":
        named = next(iter(links or files))
        for run_code, run_stderr in ((code, stderr), (audit.exit_code, audit.stderr)):  # diff first
            assert run_code == 2, run_stderr
            assert named in run_stderr and "internal error" not in run_stderr
        return
    assert audit.exit_code == code == 1, (audit.stderr, stderr)
    audited = {(f["rule"], f["group"], f["location"]["file"]) for f in json.loads(audit.stdout)["findings"]}
    compared = {(f["rule"], f["group"], f["location"]["file"]) for f in doc["findings"] if f["change"] != "resolved"}
    assert audited == compared
    assert ("owner-location", "cn-extra") in {(rule, group) for rule, group, _ in compared}


# ---------------------------------------------------------------- person-scope families are judged in diff too

REACH = """\
# METADATA
# title: In too many groups with user data
package access.person.reach

import rego.v1

deny contains {"msg": msg, "measure": n} if {
\tn := count([g | some g in input.groups; "user_pii" in g.data_classes])
\tn > 1
\tmsg := sprintf("%s is in %d groups with user data", [input.person.id, n])
}
"""


def test_person_scope_findings_are_introduced_and_worsened(org: GitOrg) -> None:
    on_main(org, {"policies/person/reach/reach.rego": REACH}, "a person-scope rule")  # bob: 2 groups already
    org.edit(CN, "members: [bob]", "members: [bob, ana]")
    org.commit("ana joins cn-review: her second group with user data")
    code, doc, _ = run_diff(org)
    assert code == 1
    reach = {f["person"]: f for f in doc["findings"] if f["rule"] == "reach"}
    assert set(reach) == {"ana", "bob"}
    assert (reach["ana"]["change"], reach["ana"]["group"], reach["ana"]["location"]) == (
        "introduced", None, {"file": CN, "line": 6})  # the member entry the change added
    assert reach["bob"]["change"] == "unchanged"
    org.write({"inventories/groups/third.yaml": CN_REVIEW.replace("cn-review", "third").replace("owner: li",
                                                                                                  "owner: bob")})
    org.commit("bob owns a third group")
    code, doc, _ = run_diff(org)
    reach = {f["person"]: f for f in doc["findings"] if f["rule"] == "reach"}
    assert (reach["bob"]["change"], reach["bob"]["measure"]) == ("worsened", 3)
    assert reach["bob"]["location"]["file"] == "inventories/groups/third.yaml"


# ---------------------------------------------------------------- the work tree (issue 10.6)


def test_uncommitted_files_are_named_on_stderr(org: GitOrg) -> None:
    org.write({".gitignore": "policies/local.rego\n"})
    org.commit("ignore a local file")
    org.edit(GROUP, *LI_JOINS)  # modified
    org.write({"inventories/groups/new.yaml": EXTRA_CN, "policies/local.rego": "package local\n",
               "README.md": "outside the folders\n"})
    index = (org.root / ".git/index").read_bytes()
    code, doc, stderr = run_diff(org)
    assert code == 0 and changes(doc) == {UNCHANGED_CN}  # the commit is what is compared
    assert "3 uncommitted file(s) under inventories, policies are not part of the comparison" in stderr
    for named in (f"{GROUP} (modified)", "inventories/groups/new.yaml (untracked)", "policies/local.rego (ignored)"):
        assert named in stderr
    assert "README.md" not in stderr and "--head WORKTREE" in stderr
    assert (org.root / ".git/index").read_bytes() == index  # git status did not refresh the index
    org.git("stash", "-q", "--all")
    _, _, stderr = run_diff(org)
    assert "uncommitted" not in stderr


def test_head_worktree_compares_the_work_tree_as_it_is(org: GitOrg) -> None:
    code, doc, stderr = run_diff(org, extra_head="WORKTREE")
    assert code == 0 and changes(doc) == {UNCHANGED_CN}, stderr
    org.edit(GROUP, *LI_JOINS)  # not committed
    org.write({"inventories/groups/extra.YAML": EXTRA_CN})
    code, doc, stderr = run_diff(org, extra_head="WORKTREE")
    assert code == 1, stderr
    assert changes(doc) == {("introduced", "member-location", "li", GROUP, 9), UNCHANGED_CN,
                            ("introduced", "owner-location", None, "inventories/groups/extra.YAML", 2)}
    assert doc["head"] == "WORKTREE" and doc["head_commit"] == org.git("rev-parse", "HEAD")
    assert "uncommitted" not in stderr
    os.symlink("gone.yaml", org.root / "inventories/broken.yaml")  # read by audit's rules: an error
    code, _, stderr = run_diff(org, extra_head="WORKTREE")
    assert code == 2 and "inventories/broken.yaml" in stderr and "broken symlink" in stderr


def test_inventory_blobs_are_read_and_parsed_once_across_sides_and_runs(org: GitOrg,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12.2: the parse cache is keyed by blob id, so a warm run reads no inventory file from git."""
    from checker import git as checker_git
    from checker import inventory as checker_inventory

    read: list[str] = []
    parsed: list[str] = []
    real_cat, real_parse = checker_git.Repository._cat_file, checker_inventory.parse_source

    def counting_cat(self: checker_git.Repository, shas: Any) -> Any:  # the real git, counted
        read.extend(shas)
        return real_cat(self, shas)

    def counting_parse(source: Any) -> Any:
        parsed.append(source.path)
        return real_parse(source)

    monkeypatch.setattr(checker_git.Repository, "_cat_file", counting_cat)
    monkeypatch.setattr(checker_inventory, "parse_source", counting_parse)
    org.edit(GROUP, *LI_JOINS)
    org.commit()
    inventory_blobs = {org.git("rev-parse", f"{ref}:{path}") for ref in ("main", "pr") for path in INVENTORY}
    first = run_diff(org, "--jobs", "1", cache=True)
    assert first[0] == 1
    assert sorted(parsed) == sorted([*INVENTORY, GROUP])  # 4 files, one changed: 5 distinct blobs parsed once
    assert inventory_blobs <= set(read)
    read.clear()
    parsed.clear()
    assert run_diff(org, "--jobs", "1", cache=True) == first
    assert parsed == [] and not inventory_blobs & set(read)


# ---------------------------------------------------------------- the cost of the change (issue 12.1)


@pytest.fixture
def evaluated(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(scope, id) of every input the real embedded engine evaluates."""
    from checker.engines.embedded import EmbeddedEngine

    seen: list[tuple[str, str]] = []
    real = EmbeddedEngine.evaluate

    def counting(self: EmbeddedEngine, inputs: Any, scope: str = "group") -> Any:
        seen.extend((scope, doc[scope]["id"]) for _, doc in inputs)
        return real(self, inputs, scope)

    monkeypatch.setattr(EmbeddedEngine, "evaluate", counting)
    return seen


def run_format(org: GitOrg, fmt: str, *extra: str) -> tuple[int, str]:
    """(exit code, stderr) of `checker diff --format FMT` without a cache."""
    result = CliRunner().invoke(main, ["diff", "--base", "main", "--repo", str(org.root), "--as-of", AS_OF,
                                       "--format", fmt, "--no-cache", *extra])
    return result.exit_code, result.stderr


def test_the_gate_evaluates_only_what_the_change_can_affect(org: GitOrg, evaluated: list[tuple[str, str]],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from checker import pipeline

    keyed: list[str] = []
    real_keys = pipeline.input_keys

    def counting_keys(inv: Any, as_of: str, policy_key: str, group_ids: Any) -> Any:
        keyed.extend(group_ids)
        return real_keys(inv, as_of, policy_key, group_ids)

    monkeypatch.setattr(pipeline, "input_keys", counting_keys)
    org.edit(GROUP, *LI_JOINS)
    org.commit()
    for fmt in ("github", "markdown", "table"):
        evaluated.clear()
        keyed.clear()
        code, stderr = run_format(org, fmt)
        assert code == 1, stderr
        assert evaluated == [("group", "us-escalations")] * 2, fmt  # one group, on each side
        assert keyed == ["us-escalations"] * 2, fmt  # and the others are not even keyed (issue 12.3)
    evaluated.clear()
    run_diff(org, "--fail-on", "any")  # unchanged findings fail this one: everything is judged
    assert sorted(evaluated) == [("group", "cn-review"), *[("group", "us-escalations")] * 2]


def test_a_people_file_change_evaluates_the_groups_of_the_people_whose_record_changed(
        org: GitOrg, evaluated: list[tuple[str, str]]) -> None:
    """Issue 12.3: ana's record changes in a file that also holds bob and cy; only ana's group is
    judged again (on each side: its input differs), not the groups of everyone in the file."""
    org.edit(PEOPLE, "  - id: ana\n    location: US", "  - id: ana\n    location: DE")
    org.commit("ana moves to Berlin")
    code, stderr = run_format(org, "github")
    assert code == 1, stderr
    assert evaluated == [("group", "us-escalations")] * 2
    evaluated.clear()
    org.edit(PEOPLE, "  - id: ana\n    location: DE", "  - id: ana\n    location: US")
    org.edit(PEOPLE, "    employment: contractor", "    employment: employee")  # cy: in no group
    org.commit("ana is back, cy is hired")
    run_format(org, "github")
    assert evaluated == []  # cy's record is no group's input, and ana's is as at the base


@pytest.mark.parametrize("fmt", ["github", "json"])
def test_a_person_removed_while_an_unchanged_group_lists_them_fails_the_run(org: GitOrg, fmt: str) -> None:
    """Gate integrity: the change touches only the people file, but breaks a reference from a group
    file it did not touch; the gate must not pass it as "nothing affected"."""
    org.edit("inventories/people/elsewhere.yaml", "  - id: li\n    location: CN\n    employment: employee\n", "")
    org.commit("li leaves; cn-review still names li as its owner")
    code, stderr = run_format(org, fmt)
    assert code == 2, stderr
    assert CN in stderr and "'li' is not a known person" in stderr


def test_a_waiver_change_evaluates_its_group(org: GitOrg, evaluated: list[tuple[str, str]]) -> None:
    on_main(org, waiver_file({"id": "w-cn", "rule": "owner-location", "group": "cn-review",
                              "expires": "2027-01-31"}))
    org.edit(WAIVERS, "expires: 2027-01-31", "expires: 2026-01-31")  # it lapses: cn-review's finding is back
    org.commit()
    code, _ = run_format(org, "github")
    assert code == 1
    assert evaluated == [("group", "cn-review")]  # its input is the same on both sides: evaluated once


def test_a_policy_change_evaluates_everything(org: GitOrg, evaluated: list[tuple[str, str]]) -> None:
    org.write({"policies/owner_everywhere/owner_everywhere.rego":
               "package access.owner_everywhere\n\nimport rego.v1\n\n"
               "warn contains msg if {\n\tinput.group.owner.id == \"ana\"\n\tmsg := \"ana owns it\"\n}\n"})
    org.commit()
    run_format(org, "github")
    assert sorted(evaluated) == [("group", "cn-review"), ("group", "cn-review"), ("group", "us-escalations"),
                                 ("group", "us-escalations")]  # judged by the base's, and the impact by the head's


def test_the_gate_reads_from_the_cache_only_what_the_change_can_affect(org: GitOrg, evaluated: list[tuple[str, str]]
                                                                       ) -> None:
    """Issue 12.3: a gate run's cost follows the change even when the cache holds every group (after
    a complete run): what the change cannot affect is neither keyed nor looked up, and only counted,
    from the complete run's count of a side's findings (checker.sidecache; issue 12.1); what it can
    affect comes from the cache."""
    from checker.commands import diff as diff_command
    from checker.commands.options import Options

    org.edit(GROUP, *LI_JOINS)
    org.commit()

    def result(fmt: str) -> Any:
        options = Options(org.root / "inventories", org.root / "policies", AS_OF, "embedded", (), None, fmt, None,
                          "deny", 1, True)
        with diff_command.git.Repository(org.root) as repository, diff_command.cache_for(options) as cache:
            tip, old, new = diff_command.read_sides(repository, options, "main", "HEAD")
            return diff_command.compare(repository, cache, options, tip, old, new)

    cold = result("github")
    assert cold.meta["not_evaluated"] == {"groups": 1, "people": 0}
    assert {f.change for f in cold.findings} == {"introduced"}
    full = result("json")  # evaluates cn-review too, and keeps it
    evaluated.clear()
    warm = result("github")
    assert evaluated == [] and "not_evaluated" not in warm.meta
    assert warm.meta["unchanged_unlisted"] == {"deny": 1, "warn": 0, "waived": 0}  # cn-review's owner-location
    assert warm.findings == tuple(f for f in full.findings if f.group != "cn-review")


def test_gate_only_evaluation_agrees_with_a_full_one_on_generated_histories(tmp_path: Path) -> None:
    """Issue 12.1: introduced, worsened and resolved (and the exit code) are the same whether diff
    evaluates only what the change can affect or everything, over random changes to a generated org."""
    import random
    import re
    import shutil

    from checker.commands import diff as diff_command
    from checker.commands.options import Options
    from testing.orggen import build_org
    from tests.conftest import ROOT

    org = GitOrg(tmp_path / "repo")
    shutil.copytree(ROOT / "policies", org.root / "policies")
    build_org(org.root / "inventories", 30, seed=7)
    org.commit("a generated organisation")
    org.branch("pr")
    rng = random.Random(12)
    files = sorted(p for p in (org.root / "inventories").rglob("*.yaml"))
    group_files = [p for p in files if "/groups/" in p.as_posix()]
    people = re.findall(r"^  - id: (\S+)$", "".join(p.read_text() for p in files if "/people/" in p.as_posix()),
                        re.MULTILINE)

    def mutate(kind: str | None = None) -> None:
        kind = kind or rng.choice(["join", "move", "classes", "waiver", "leave", "hire", "depart"])
        if kind in ("hire", "depart"):  # a people-file change that no group file shows
            path = rng.choice([p for p in files if "/people/" in p.as_posix()])
            text = path.read_text()
            if kind == "hire":
                spots = [m.start() for m in re.finditer(r"    employment: \w+\n", text)]
                at = rng.choice(spots)
                end = text.index("\n", at) + 1
                path.write_text(text[:at] + f"    employment: {rng.choice(['employee', 'contractor'])}\n" + text[end:])
            else:  # someone in a group leaves: an error, though no group file changed
                groups_text = "".join(p.read_text() for p in group_files if p.exists())
                records = [(m.start(), m.group(1)) for m in re.finditer(r"^  - id: (\S+)\n", text, re.MULTILINE)]
                at = rng.choice([i for i, (_, pid) in enumerate(records[:-1]) if f" {pid}\n" in groups_text])
                path.write_text(text[:records[at][0]] + text[records[at + 1][0]:])
                departed.append(records[at][1])
            return
        if kind == "move":
            path = next(p for p in files if "/people/" in p.as_posix())
            text = path.read_text()
            spots = [m.start() for m in re.finditer(r"    location: [A-Z]{2}\n", text)]
            at = rng.choice(spots)
            path.write_text(text[:at] + f"    location: {rng.choice(['US', 'CN', 'DE', 'SG'])}\n" + text[at + 17:])
            return
        if kind == "waiver" and (org.root / "inventories/waivers.yaml").exists():
            path = org.root / "inventories/waivers.yaml"
            path.write_text(re.sub(r"expires: \d{4}", lambda m: rng.choice(["expires: 2026", "expires: 2099"]),
                                   path.read_text(), count=1))
            return
        path = rng.choice([p for p in group_files if p.exists()])
        path.write_text(changed_group(path.read_text(), kind, lambda: rng.choice(people)))

    def judged(fmt: str) -> tuple[int, set[tuple[Any, ...]]]:
        options = Options(org.root / "inventories", org.root / "policies", "2026-11-29", "embedded", (), None, fmt,
                          None, "deny", 1, False)
        with diff_command.git.Repository(org.root) as repository, diff_command.cache_for(options) as cache:
            tip, old, new = diff_command.read_sides(repository, options, "main", "HEAD")
            result = diff_command.compare(repository, cache, options, tip, old, new)
        changed = {(f.identity, f.change, f.level, f.waived, f.waiver_change, f.location) for f in result.findings
                   if f.change != "unchanged"}
        skipped.append(result.meta.get("not_evaluated", {}).get("groups", 0))
        return result.exit_code("deny"), changed

    skipped: list[int] = []

    partial_seen, refused = False, 0
    departed: list[str] = []
    for step in range(10):
        departed.clear()
        for _ in range(rng.randint(1, 3)):
            mutate()
        if step == 4:
            mutate("depart")
        org.commit(f"step {step}")
        try:
            full = judged("json")
        except Exception as exc:  # a mutation may make the inventory invalid: both must refuse it alike
            with pytest.raises(type(exc)):
                judged("github")
            refused += bool(departed)
            org.git("reset", "-q", "--hard", "HEAD~1")  # go on from the last valid head
            continue
        assert not departed, f"step {step}: {departed} left but are still named in a group"
        assert judged("github") == full, f"step {step}"
        partial_seen = partial_seen or bool(full[1])
    assert partial_seen and max(skipped) > 20  # the gate-only runs left most groups out
    assert refused > 0  # a person removed from a people file while unchanged groups name them


def test_reports_for_people_say_how_much_the_gate_left_out(org: GitOrg) -> None:
    """Issue 12.1: the github, markdown and table formats do not wait for what the change cannot affect,
    and say how many groups they left out."""
    org.edit(GROUP, "      - bob\n", "      - bob\n      - li\n")
    org.commit()
    _, doc, _ = run_diff(org)
    assert "not_evaluated" not in doc  # json evaluates everything
    for fmt, expected in (("github", "not evaluated: 1 group that the change cannot affect"),
                          ("markdown", "Not evaluated: 1 group that the change cannot affect"),
                          ("table", "Not evaluated: 1 group that the change cannot affect")):
        result = CliRunner().invoke(main, ["diff", "--base", "main", "--repo", str(org.root), "--as-of", AS_OF,
                                           "--format", fmt, "--no-cache"])
        assert expected in result.stdout, (fmt, result.stdout)


@pytest.mark.parametrize("change", ["person-removed", "duplicate-id", "waiver-group-removed", "accepted"])
def test_a_head_is_refused_the_same_with_the_base_inventory_from_the_cache(org: GitOrg, change: str) -> None:
    """Issue 12.3: with the merge base's inventory read from the cache and the head built from it,
    the head is refused (exit 2, file and line) exactly as without any cache, and accepted alike."""
    on_main(org, waiver_file({"id": "w-cn", "rule": "owner-location", "group": "cn-review", "reason": "r",
                              "approved_by": "ana", "expires": "2027-01-01"}))
    if change == "person-removed":  # cn-review, in a file the change leaves alone, still names li
        org.edit("inventories/people/elsewhere.yaml", "  - id: li\n    location: CN\n    employment: employee\n", "")
    elif change == "duplicate-id":  # a new file, sorted before the one that has the id
        org.write({"inventories/people/a-copy.yaml": "people:\n  - id: li\n    location: CN\n"
                                                     "    employment: employee\n"})
    elif change == "waiver-group-removed":  # the waiver, unchanged, names the group removed
        org.remove(CN)
    else:
        org.edit(PEOPLE, "  - id: ana\n    location: US", "  - id: ana\n    location: FR")
    org.commit(change)
    expected = run_diff(org)
    message = {"person-removed": f"checker: error: {CN}:5: group cn-review: owner 'li' is not a known person",
               "duplicate-id": "checker: error: inventories/people/elsewhere.yaml:2: duplicate person id 'li' "
                               "(first at inventories/people/a-copy.yaml:2)",
               "waiver-group-removed": "checker: error: inventories/waivers.yaml:4: waiver w-cn: group "
                                       "'cn-review' is not a known group"}.get(change)
    assert (expected[0] == 2) == (message is not None), expected[2]
    assert message is None or message in expected[2].splitlines(), expected[2]
    for _ in range(2):  # the first run stores the merge base's inventory, the second reads it back
        assert run_diff(org, cache=True) == expected
