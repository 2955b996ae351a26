"""Unit tests of the lexer-level Rego scanner."""

from __future__ import annotations

from checker.rego_scan import (
    Call,
    defined_functions,
    function_calls,
    imports,
    keywords_used,
    package_name,
    tokenize,
    unsupported_calls,
)


def names(source: str) -> list[str]:
    return [c.name for c in function_calls(source)]


def test_simple_call_line_and_column() -> None:
    source = "package p\n\nx := count([1, 2])\n"
    assert function_calls(source) == [Call("count", 3, 6)]


def test_dotted_call_reports_whole_name_and_start_column() -> None:
    source = "package p\nallow if {\n\ttime.parse_ns(\"2006\", input.t) > 0\n}\n"
    assert function_calls(source) == [Call("time.parse_ns", 3, 2)]


def test_data_ref_call_is_reported_whole() -> None:
    assert names("package p\nx := data.lib.groups.member(input.u)\n") == ["data.lib.groups.member"]


def test_bracketed_ref_call_is_reported_with_brackets() -> None:
    assert names('package p\nx := data.lib["odd-name"].f(1)\n') == ['data.lib["odd-name"].f']


def test_nested_calls_in_order() -> None:
    assert names('package p\nx := lower(concat(",", split(input.s, ";")))\n') == [
        "lower", "concat", "split"]


def test_comments_are_skipped() -> None:
    source = "package p\n# min([1]) here\nx := 1 # and max([2]) there\n"
    assert names(source) == []


def test_strings_with_escaped_quotes_are_skipped() -> None:
    source = 'package p\nx := "say \\"min(1)\\" now"\ny := count([1])\n'
    assert function_calls(source) == [Call("count", 3, 6)]


def test_hash_inside_string_is_not_a_comment() -> None:
    source = 'package p\nx := concat("#", ["a"])\n'
    assert names(source) == ["concat"]


def test_raw_multiline_string_is_skipped_and_lines_keep_counting() -> None:
    source = "package p\nx := `min(1)\n# not a comment\nmax(2)`\ny := sort([1])\n"
    assert function_calls(source) == [Call("sort", 5, 6)]


def test_multiline_call_arguments() -> None:
    source = "package p\nx := sprintf(\n    \"%s\",\n    [upper(input.a)],\n)\n"
    assert function_calls(source) == [Call("sprintf", 2, 6), Call("upper", 4, 6)]


def test_template_string_interpolations_are_code() -> None:
    source = 'package p\nmsg := $"a {lower(input.n)} \\{upper(x)} {count({"k": 1})}"\n'
    assert names(source) == ["lower", "count"]


def test_raw_template_string_interpolations_are_code() -> None:
    source = "package p\nmsg := $`x {min(input.a)}\ny`\nz := max([1])\n"
    assert function_calls(source) == [Call("min", 2, 13), Call("max", 4, 6)]


def test_keywords_and_literals_before_parens_are_not_calls() -> None:
    source = "package p\nallow if {\n    not (input.x)\n    some x in (input.xs)\n}\n"
    assert names(source) == []


def test_empty_set_literal_is_not_a_call() -> None:
    assert names("package p\nx := set()\ny := count(set())\n") == ["count"]


def test_contains_builtin_vs_contains_keyword() -> None:
    source = (
        "package p\n"
        "deny contains msg if {\n"
        '    contains(input.s, "x")\n'
        '    msg := "m"\n'
        "}\n"
    )
    assert function_calls(source) == [Call("contains", 3, 5)]
    assert ("contains", 2) in keywords_used(source)
    assert ("contains", 3) not in keywords_used(source)


def test_numbers_with_exponents_are_not_identifiers() -> None:
    assert names("package p\nx := 1e3 + abs(2.5e-1)\n") == ["abs"]


def test_package_name() -> None:
    assert package_name("# header\npackage access.owner_location\n\nimport rego.v1\n") == (
        "access.owner_location")
    assert package_name("x := 1\n") is None


def test_defined_functions_all_head_forms() -> None:
    source = (
        "package p\n\n"
        "f(x) := y if {\n    y := x\n}\n\n"
        "g(x) if {\n    x > 1\n}\n\n"
        "h(x) = y {\n    y := x\n}\n\n"
        "k(x) if x > 2\n\n"
        "default m(_) := false\n\n"
        "a.b.c(x) := x\n\n"
        "allow if {\n    count(input.x) > 0\n}\n"
    )
    assert defined_functions(source) == {"f", "g", "h", "k", "m", "a.b.c"}


def test_continuation_lines_are_not_function_heads() -> None:
    source = (
        "package p\n\n"
        "allow if\ncount(input.x) > 0\n\n"
        "x := 1 +\nabs(-1)\n\n"
        "  indented(x) := x\n"
    )
    assert defined_functions(source) == set()


def test_imports_with_and_without_alias() -> None:
    source = (
        "package p\nimport rego.v1\nimport data.lib.groups\n"
        "import data.lib.util as u\nimport input.user\n"
    )
    assert imports(source) == {
        "v1": "rego.v1", "groups": "data.lib.groups", "u": "data.lib.util", "user": "input.user"}


def test_keywords_used_lines() -> None:
    source = (
        "package p\n\nimport rego.v1\n\n"
        "allow if {\n    every x in input.xs { x > 0 }\n    f(1) with input as {}\n}\n"
    )
    used = keywords_used(source)
    assert ("with", 7) in used and ("as", 7) in used
    assert ("every", 6) in used and ("in", 6) in used
    assert ("if", 5) in used


def test_keyword_in_comment_or_string_is_not_used() -> None:
    source = 'package p\n# with input as x\nx := "with"\n'
    assert [k for k, _ in keywords_used(source)] == ["package"]


def test_tokenize_columns_are_one_based() -> None:
    toks = tokenize("a := b\n  c")
    assert [(t.text, t.line, t.column, t.first_on_line) for t in toks] == [
        ("a", 1, 1, True), (":=", 1, 3, False), ("b", 1, 6, False), ("c", 2, 3, True)]


def test_unsupported_calls_resolves_user_functions() -> None:
    policy = (
        "package app\n\nimport rego.v1\nimport data.lib.groups\nimport data.lib as l\n\n"
        "allow if {\n"
        "    local(input.x)\n"
        "    groups.member(input.u)\n"
        "    l.groups.member(input.u)\n"
        "    data.lib.groups.member(input.u)\n"
        "    data.app.local(1)\n"
        "    other(1)\n"
        "    count([1]) > 0\n"
        "    groups.missing(1)\n"
        "}\n\n"
        "local(x) if x\n"
    )
    other = "package app\n\nother(x) := x\n"
    lib = "package lib.groups\n\nmember(u) if u\n"
    modules = {"app.rego": policy, "other.rego": other, "lib.rego": lib}
    assert unsupported_calls(modules, frozenset({"count"})) == [("app.rego", 15, "groups.missing")]
    assert unsupported_calls(modules, frozenset()) == [
        ("app.rego", 14, "count"), ("app.rego", 15, "groups.missing")]


def test_call_arguments_split_at_top_level_commas() -> None:
    [call] = function_calls('package p\nx := f(1, [2, 3], {"a": g(4, 5)}, $"{h(6, 7)}",)\n')[:1]
    texts = ["".join(t.text for t in arg) for arg in call.args]
    assert texts == ["1", "[2,3]", '{"a":g(4,5)}', '$"{h(6,7)}"']


def _arg_texts(call: Call) -> list[str]:
    return [" ".join(t.text for t in arg) for arg in call.args]


def test_arguments_of_nested_unclosed_and_empty_calls() -> None:
    calls = function_calls("package p\nx := f(g(1, 2), [3, 4], {\"k\": h()})\ny := f(a,)\nz := k(1,\n")
    by_line = {(c.name, c.line): _arg_texts(c) for c in calls}
    assert by_line[("f", 2)] == ["g ( 1 , 2 )", "[ 3 , 4 ]", '{ "k" : h ( ) }']
    assert by_line[("g", 2)] == ["1", "2"]
    assert by_line[("h", 2)] == []
    assert by_line[("f", 3)] == ["a"]
    assert by_line[("k", 4)] == ["1"]  # never closed: runs to the end of the module


def test_deeply_nested_calls_are_all_found() -> None:
    depth = 5000  # slicing every call's arguments up front made this quadratic (minutes at 8,000)
    calls = function_calls("package p\nx := " + "f(" * depth + "1" + ")" * depth + "\n")
    assert len(calls) == depth
    assert _arg_texts(calls[-1]) == ["1"]


def test_statement_count() -> None:
    from checker.rego_scan import statement_count

    source = "package p\n\nimport rego.v1\n\nx := [\n\t1,\n\t2,\n]\n\nf(a) := b if {\n\tb := a\n}\n"
    assert statement_count(source) == 4
