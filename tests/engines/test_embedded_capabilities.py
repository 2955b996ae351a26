"""Known-answer tests of regopy against OPA's values, and the embedded engine's policy refusals.

These run the real regopy (no mocks): if a regopy upgrade changes any builtin's behaviour,
the committed ALLOWED_BUILTINS / DENIED_BUILTINS / ALLOWED_FORMS lists no longer match and
this fails (regenerate them with `python3 -m checker.engines.embedded_capabilities`).
"""

from __future__ import annotations

import pytest

from checker.engines.embedded_allowlist import ALLOWED_BUILTINS, ALLOWED_FORMS, DENIED_BUILTINS
from checker.engines.embedded_capabilities import load_known_answers, run_form_answers, run_known_answers
from checker.engines.embedded_forms import FORM_MATCHERS, form_builtin
from checker.engines.embedded_refusals import check_policies


@pytest.fixture(scope="module")
def results() -> dict[str, str | None]:
    return run_known_answers()


def test_allowlist_equals_builtins_passing_on_regopy(results: dict[str, str | None]) -> None:
    passing = {name for name, reason in results.items() if reason is None}
    assert passing == ALLOWED_BUILTINS


def test_every_denied_builtin_fails_on_regopy_for_the_committed_reason(results: dict[str, str | None]) -> None:
    failing = {name for name, reason in results.items() if reason is not None}
    assert failing == set(DENIED_BUILTINS)
    for name, reason in DENIED_BUILTINS.items():
        assert results[name] == reason, name


def test_allowed_forms_equal_forms_passing_on_regopy() -> None:
    form_results = run_form_answers()
    assert {form for form, reason in form_results.items() if reason is None} == ALLOWED_FORMS
    # every form named in the tests has a matcher for call sites, and the other way round
    assert set(form_results) == set(FORM_MATCHERS)
    for test in load_known_answers():
        assert test.form is None or form_builtin(test.form) == test.builtin, test


def test_every_tested_builtin_is_classified_once() -> None:
    tested = {t.builtin for t in load_known_answers()}
    assert tested == ALLOWED_BUILTINS | set(DENIED_BUILTINS)
    assert not ALLOWED_BUILTINS & set(DENIED_BUILTINS)


def test_known_answers_file_is_well_formed() -> None:
    tests = load_known_answers()
    assert len(tests) >= 80
    assert len({(t.builtin, t.query) for t in tests}) == len(tests)
    for t in tests:
        assert t.builtin and t.query and t.builtin.split(".")[-1] in t.query


@pytest.mark.parametrize("name", ["min", "max", "time.diff", "walk", "sort", "net.cidr_contains"])
def test_known_wrong_builtins_are_denied(name: str) -> None:
    assert name not in ALLOWED_BUILTINS
    assert name in DENIED_BUILTINS


@pytest.mark.parametrize("name", ["http.send", "net.lookup_ip_addr", "opa.runtime", "rand.intn"])
def test_builtins_without_known_answer_test_are_not_allowed(name: str) -> None:
    assert name not in ALLOWED_BUILTINS


def test_run_known_answers_subset() -> None:
    results = run_known_answers(["count", "min"])
    assert results["count"] is None
    assert results["min"] is not None and results["min"].startswith("got 200 expected 25")
    assert set(results) == {"count", "min"}


POLICY = """package access.owner_location

import rego.v1
import data.lib.groups
import data.lib.util as u

# min(1) in a comment is not a call
allow if {
    count(input.roles) > 0
    note := "max([1, 2]) in a string"
    raw := `time.diff(1, 2)
        walk(x)`
    is_owner(input.user)
    groups.member(input.user, "admins")
    u.normalise(input.user) == "bob"
    data.lib.groups.member(input.user, "ops")
    data.access.owner_location.is_owner(input.user)
}

is_owner(user) if user == input.resource.owner

located(x) := y if {
    y := lower(x)
}
"""

LIB = """package lib.groups

import rego.v1

member(user, group) if user in data.groups[group]
"""

UTIL = """package lib.util

normalise(s) := trim_space(s)
"""


def _modules(**extra: str) -> dict[str, str]:
    modules = {"policy/owner.rego": POLICY, "lib/groups.rego": LIB, "lib/util.rego": UTIL}
    modules.update(extra)
    return modules


def test_clean_policy_with_user_functions_and_imports_is_accepted() -> None:
    findings = check_policies(_modules())
    # lower() is denied (non-ASCII case mapping differs), everything else resolves or is allowed
    assert [(f[0], f[1], f[2]) for f in findings] == [("policy/owner.rego", 23, "lower")]


def test_flags_cidr_contains_with_its_line() -> None:
    source = "package p\n\nimport rego.v1\n\nallow if {\n    net.cidr_contains(\"10.0.0.0/8\", input.ip)\n}\n"
    findings = check_policies({"p.rego": source})
    assert len(findings) == 1
    path, line, name, message = findings[0]
    assert (path, line, name) == ("p.rego", 6, "net.cidr_contains")
    assert "not supported by the embedded engine" in message
    assert message.endswith("use --engine opa")


def test_flags_min_with_the_wrong_value_in_the_message() -> None:
    source = "package p\n\nsmallest := min(input.sizes)\n"
    [(path, line, name, message)] = check_policies({"p.rego": source})
    assert (path, line, name) == ("p.rego", 3, "min")
    assert "gives wrong results on the embedded engine (got 200 expected 25" in message
    assert "--engine opa" in message


def test_builtin_that_hangs_regopy_is_refused_without_running_it() -> None:
    source = "package p\n\nr := strings.replace_n(input.patterns, input.s)\n"
    [(_, line, name, message)] = check_policies({"p.rego": source})
    assert (line, name) == (3, "strings.replace_n")
    assert "never returns" in message


def test_untested_builtin_is_flagged_as_having_no_known_answer_test() -> None:
    source = 'package p\n\nr := http.send({"method": "GET", "url": input.u})\n'
    [(_, line, name, message)] = check_policies({"p.rego": source})
    assert (line, name) == (3, "http.send")
    assert "no known-answer test" in message


def test_calls_in_comments_and_strings_are_ignored() -> None:
    source = (
        'package p\n'
        '# min([1]) net.cidr_contains("a", "b")\n'
        'msg := "min([1]) \\" max([2])"\n'
        'raw := `walk(x)\n time.diff(1, 2)`\n'
        'ok := count([1]) == 1  # sort([3])\n'
    )
    assert check_policies({"p.rego": source}) == []


def test_call_inside_template_string_interpolation_is_flagged() -> None:
    source = 'package p\n\nmsg := $"smallest is {min(input.sizes)}"\n'
    [(_, line, name, _)] = check_policies({"p.rego": source})
    assert (line, name) == (3, "min")


def test_undefined_data_function_is_flagged() -> None:
    source = "package p\n\nimport rego.v1\n\nallow if data.nowhere.f(input.x)\n"
    [(_, line, name, message)] = check_policies({"p.rego": source})
    assert (line, name) == (5, "data.nowhere.f")
    assert "not defined in the policy modules" in message


def test_with_in_a_rule_body_is_flagged() -> None:
    source = (
        "package p\n\nimport rego.v1\n\n"
        "base if input.role == \"admin\"\n\n"
        "allow if {\n    base with input.role as \"admin\"\n}\n"
    )
    [(path, line, name, message)] = check_policies({"p.rego": source})
    assert (path, line, name) == ("p.rego", 8, "with")
    assert "--engine opa" in message


def test_with_in_a_test_module_is_not_flagged() -> None:
    source = "package p_test\n\nimport rego.v1\n\ntest_a if data.p.allow with input as {}\n"
    assert check_policies({"p_test.rego": source}) == []


def test_allowed_forms_accept_only_matching_call_sites() -> None:
    source = (
        "package p\n\n"
        'a := format_int(input.n, 10)\n'
        'b := format_int(input.n, 16)\n'
        'c := concat(", ", ["x", input.y])\n'
        'd := concat(", ", [x | some x in input.xs])\n'
        'e := concat(", ", array.concat(["a"], input.more))\n'
        'f := concat(", ", input.set)\n'
        'g := concat(", ", {x | some x in input.xs})\n'
        'h := time.parse_ns("2006-01-02", input.date)\n'
        'i := time.parse_ns("2006-01-02T15:04:05Z07:00", input.when)\n'
        'j := concat(", ", ["x"]) == concat(", ", ["y"])\n'
        'k := replace(input.s, ".", "/")\n'
        'l := replace(input.s, input.old, "/")\n'
        'm := regex.match(`^[0-9]{4}$`, input.year)\n'
        'n := regex.match("(?i)^abc$", input.s)\n'
        'o := regex.match(input.pattern, input.s)\n'
        'q := regex.split(",", input.csv)\n'
    )
    findings = check_policies({"p.rego": source})
    assert [(line, name) for _, line, name, _ in findings] == [
        (4, "format_int"), (8, "concat"), (9, "concat"), (11, "time.parse_ns"), (14, "replace"),
        (16, "regex.match"), (17, "regex.match")]
    assert "only the form format_int(_, 10) is known to be right" in findings[0][3]


def test_findings_are_sorted_by_path_and_line() -> None:
    a = "package a\n\nx := max([1])\ny := min([2])\n"
    b = "package b\n\nz := sort([1])\n"
    findings = check_policies({"b.rego": b, "a.rego": a})
    assert [(f[0], f[1], f[2]) for f in findings] == [
        ("a.rego", 3, "max"), ("a.rego", 4, "min"), ("b.rego", 3, "sort")]


def test_the_lists_were_made_with_the_installed_regopy() -> None:
    from checker.engines.embedded import regopy_version
    from checker.engines.embedded_allowlist import LISTS_REGOPY_VERSION

    assert regopy_version() == LISTS_REGOPY_VERSION  # else regenerate: python -m checker.engines.embedded_capabilities


def test_another_regopy_version_re_runs_the_known_answers_of_what_is_used() -> None:
    from checker.engines.embedded_refusals import check_policies

    modules = {"p.rego": 'package access.x\n\nimport rego.v1\n\ndeny contains msg if {\n'
                         '\tcount(input.group.members) > 1\n\tmsg := sprintf("%s has %d", ["g", 2])\n}\n'
                         'warn contains "m" if min([1, 2]) == 1\n'}
    refused = check_policies(modules, regopy_version="0.0.0-other")
    assert [(line, name) for _path, line, name, _message in refused] == [(9, "min")]
    assert "failed its known-answer test on regopy 0.0.0-other" in refused[0][3]
