from __future__ import annotations

import pytest

from checker.yamlload import MAX_DEPTH, YamlProblem, alias_budget, parse


def test_values_and_lines() -> None:
    doc = parse("a: 1\nb:\n  - id: x\n    when: 2026-03-02\n")
    assert doc is not None
    assert doc.value == {"a": 1, "b": [{"id": "x", "when": "2026-03-02"}]}
    assert doc.line(("b", 0)) == 3 and doc.items_at(("b",)) == [3]
    assert doc.line(("b", 0, "when")) == 4 and doc.keys_at(("b", 0)) == {"id": 3, "when": 4}
    assert doc.line(("b", 0, "when", "deeper")) == 4


def test_country_codes_are_not_booleans() -> None:
    """YAML 1.1 reads NO (Norway), yes, on, off as booleans; inventories must not."""
    doc = parse("a: NO\nb: yes\nc: off\nd: true\n")
    assert doc is not None
    assert doc.value == {"a": "NO", "b": "yes", "c": "off", "d": True}


def test_duplicate_key_names_both_lines() -> None:
    with pytest.raises(YamlProblem) as exc:
        parse("people: []\ngroups: []\npeople: []\n")
    assert exc.value.line == 3
    assert "duplicate key 'people' (first at line 1)" in exc.value.message


def test_syntax_error_has_line() -> None:
    with pytest.raises(YamlProblem) as exc:
        parse("a: 1\nb: [1, 2\nc: 3\n")
    assert exc.value.line is not None and exc.value.line >= 2
    assert "not valid YAML" in exc.value.message


def test_alias_bomb_is_refused_before_expansion() -> None:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]")
    with pytest.raises(YamlProblem) as exc:
        parse("\n".join(lines) + "\n")
    assert "alias bomb" in exc.value.message
    assert exc.value.line is not None


def test_small_aliases_are_fine() -> None:
    doc = parse("a: &x [1, 2]\nb: *x\n")
    assert doc is not None and doc.value == {"a": [1, 2], "b": [1, 2]}


def test_recursive_alias() -> None:
    with pytest.raises(YamlProblem, match="recursive alias"):
        parse("a: &a [*a]\n")


@pytest.mark.parametrize("text", ["x: !!python/object:os.system 1\n", "x: !!binary aGVsbG8=\n"])
def test_unsafe_and_binary_tags_are_refused(text: str) -> None:
    with pytest.raises(YamlProblem):
        parse(text)


def test_multiple_documents_are_refused() -> None:
    with pytest.raises(YamlProblem):
        parse("a: 1\n---\nb: 2\n")


def test_merge_keys_are_refused() -> None:
    with pytest.raises(YamlProblem, match="merge keys"):
        parse("base: &b {x: 1}\nother:\n  <<: *b\n")


def test_empty_document() -> None:
    assert parse("# only a comment\n") is None


@pytest.mark.parametrize("brk", ["\r", "\u2028", "\u2029", "\x85"])
def test_only_newline_ends_a_line(brk: str) -> None:
    """SPEC §2: lines count `\\n` only, as git does; YAML's other breaks must not shift later lines."""
    text = f'a: "one{brk}two"\nb: 1\nc:\n  - x\n'
    doc = parse(text)
    assert doc is not None and doc.keys_at(()) == {"a": 1, "b": 2, "c": 3} and doc.items_at(("c",)) == [4]


def test_crlf_is_one_line_end() -> None:
    doc = parse('a: 1\r\nb: "x\ry"\r\nc: 3\r\n')
    assert doc is not None and doc.keys_at(()) == {"a": 1, "b": 2, "c": 3}


def test_syntax_error_line_after_a_unicode_break() -> None:
    with pytest.raises(YamlProblem) as exc:
        parse('a: "\u2028\u2028"\nb: 1\nc: [1\n')
    assert exc.value.line == 4  # the end of the file, 3 `\n` in


@pytest.mark.parametrize("char", ["\x00", "\x07", "\ufffe"])
def test_control_character_names_its_line(char: str) -> None:
    with pytest.raises(YamlProblem) as exc:
        parse(f"a: 1\r\nb: \u2028\nc: x{char}y\n")
    assert exc.value.line == 3 and f"U+{ord(char):04X}" in exc.value.message
    assert "position" not in exc.value.message


def test_alias_guard_counts_bytes_not_nodes() -> None:
    """One big scalar aliased many times is a few nodes and a huge document."""
    big = "x" * 500_000
    text = f"a: &big {big}\nb: [{', '.join(['*big'] * 2000)}]\n"
    with pytest.raises(YamlProblem) as exc:
        parse(text)
    assert exc.value.line == 2 and "alias bomb" in exc.value.message
    assert f"{alias_budget(len(text)):,}" in exc.value.message


def test_aliases_within_the_budget_are_expanded() -> None:
    team = "[" + ", ".join(f"person.{i}" for i in range(50)) + "]"
    groups = "".join(f"  - {{id: g{i}, members: *team}}\n" for i in range(100))
    doc = parse(f"team: &team {team}\ngroups:\n{groups}")
    assert doc is not None and len(doc.value["groups"][99]["members"]) == 50


@pytest.mark.parametrize("shape", ["[", "{a: "])
def test_nesting_past_the_limit_names_its_line(shape: str) -> None:
    close = {"[": "]", "{a: ": "}"}[shape]
    deep = shape * (MAX_DEPTH + 5) + "1" + close * (MAX_DEPTH + 5)
    with pytest.raises(YamlProblem) as exc:
        parse(f"a: 1\nb: 2\nc: {deep}\n")
    assert exc.value.line == 3 and f"more than {MAX_DEPTH} levels" in exc.value.message
    assert parse(f"c: {shape * 20}1{close * 20}\n") is not None


def test_block_nesting_past_the_limit_names_its_line() -> None:
    block = "".join("  " * i + "-\n" for i in range(MAX_DEPTH + 5))
    with pytest.raises(YamlProblem) as exc:
        parse("a:\n" + block)
    assert exc.value.line == MAX_DEPTH + 1 and "levels" in exc.value.message
