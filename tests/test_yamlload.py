from __future__ import annotations

import pytest

from checker.yamlload import MAX_ALIAS_EXPANSION, YamlProblem, parse


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
    assert f"{MAX_ALIAS_EXPANSION:,}" in exc.value.message
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
