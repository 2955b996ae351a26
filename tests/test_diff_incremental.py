"""Issue 12.3: the head built from the base's inventory (checker.incremental) is the head a full build
makes, record for record, and it is refused exactly when a full build refuses it."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from checker import incremental, inventory, pipeline
from checker.cache import Cache
from checker.errors import InputError
from checker.inventory import Known, ParsedFile, SourceFile
from checker.models import Inventory
from testing.orggen import build_org
from tests.conftest import ROOT

Tree = dict[str, str]  # path -> text


def known() -> Known:
    return pipeline.known_for(pipeline.load_policies(ROOT / "policies"))


def generated(tmp_path: Path, groups: int = 40, seed: int = 3) -> Tree:
    build_org(tmp_path / "inventories", groups, seed=seed, people_per_file=25)
    return {p.relative_to(tmp_path).as_posix(): p.read_text()
            for p in sorted((tmp_path / "inventories").rglob("*.yaml"))}


def listing(tree: Tree) -> dict[str, str]:
    return {path: hashlib.sha1(text.encode()).hexdigest() for path, text in tree.items()}


class Blobs:
    """parse() of (path, blob id) from the trees seen so far, counting what was parsed."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.parsed: list[str] = []

    def add(self, tree: Tree) -> dict[str, str]:
        files = listing(tree)
        for path, sha in files.items():
            self.data[sha] = tree[path].encode()
        return files

    def __call__(self, entries: Sequence[tuple[str, str]]) -> list[ParsedFile]:
        self.parsed += [path for path, _ in entries]
        return [inventory.parse_source(SourceFile(path, self.data[sha])) for path, sha in entries]


def full(tree: Tree, k: Known) -> Inventory | None:
    try:
        return inventory.build([inventory.parse_source(SourceFile(p, t.encode())) for p, t in tree.items()], k)
    except InputError:
        return None


def assert_same(made: Inventory, expected: Inventory) -> None:
    """Equal records (fields, lines, locations), inserted in the same order, and the same files."""
    for section in ("people", "groups", "waivers"):
        got, want = getattr(made, section), getattr(expected, section)
        assert list(got) == list(want), section
        for rid, record in want.items():
            assert got[rid] == record, rid
            assert dict(got[rid].field_lines if section != "waivers" else {}) == \
                dict(record.field_lines if section != "waivers" else {})
    assert made.files == expected.files


def records(text: str) -> list[tuple[int, int, str]]:
    """(start, end, id) of each top-level record of a generated file."""
    found = [(m.start(), m.group(1)) for m in re.finditer(r"^  - id: (\S+)\n", text, re.MULTILINE)]
    ends = [start for start, _ in found[1:]] + [len(text)]
    return [(start, end, rid) for (start, rid), end in zip(found, ends, strict=True)]


def mutate(tree: Tree, rng: random.Random) -> str:
    """One random change, accepted or refused by a full build; returns its kind."""
    people_files = [p for p in tree if "/people/" in p]
    group_files = [p for p in tree if "/groups/" in p]
    ids = [rid for p in people_files for _, _, rid in records(tree[p])]
    kind = rng.choice(["join", "leave", "move", "bad-country", "depart", "duplicate-person", "duplicate-group",
                       "new-group", "unknown-member", "drop-group-file", "rename", "email", "same-email",
                       "unknown-class", "waiver", "drop-waivers", "yaml-error", "move-person", "new-people-file",
                       "drop-waived-group"])
    group = rng.choice(group_files)
    pfile = rng.choice(people_files)
    if kind == "join" and "    members:\n" in tree[group]:
        tree[group] = tree[group].replace("    members:\n", f"    members:\n      - {rng.choice(ids)}\n", 1)
    elif kind == "leave" and tree[group].count("\n      - ") > 2:
        last = tree[group].rindex("\n      - ")
        tree[group] = tree[group][:last] + tree[group][tree[group].index("\n", last + 1):]
    elif kind in ("move", "bad-country"):
        spots = [m.start() for m in re.finditer(r"    location: [A-Z]{2}\n", tree[pfile])]
        at = rng.choice(spots)
        country = "XQ" if kind == "bad-country" else rng.choice(["US", "CN", "DE", "SG"])
        tree[pfile] = tree[pfile][:at] + f"    location: {country}\n" + tree[pfile][at + 17:]
    elif kind in ("depart", "move-person", "duplicate-person") and len(records(tree[pfile])) > 1:
        start, end, _ = rng.choice(records(tree[pfile]))
        record = tree[pfile][start:end]
        if kind != "duplicate-person":
            tree[pfile] = tree[pfile][:start] + tree[pfile][end:]
        if kind != "depart":
            other = rng.choice(people_files)
            tree[other] = tree[other].rstrip("\n") + "\n" + record
    elif kind == "duplicate-group":
        tree[f"inventories/groups/{rng.choice(['a', 'zz'])}-copy.yaml"] = tree[group]
    elif kind in ("new-group", "unknown-member"):
        member = "nobody.at.all" if kind == "unknown-member" else rng.choice(ids)
        tree[f"inventories/groups/new-{rng.randrange(10**6)}.yaml"] = (
            f"groups:\n  - id: new-{rng.randrange(10**6)}\n    platform: slack\n    kind: channel\n"
            f"    owner: {member}\n    members: [{rng.choice(ids)}]\n    data_classes: []\n"
            "    subject_jurisdictions: []\n")
    elif kind == "drop-group-file":
        del tree[group]
    elif kind == "drop-waived-group" and "inventories/waivers.yaml" in tree:  # a waiver still names it
        waived = set(re.findall(r"^    group: (\S+)$", tree["inventories/waivers.yaml"], re.MULTILINE))
        named = [p for p in group_files if any(f"  - id: {gid}\n" in tree[p] for gid in waived)]
        if named:
            del tree[rng.choice(named)]
    elif kind == "rename":
        tree[group.replace("/groups/", "/groups/renamed-")] = tree.pop(group)
    elif kind in ("email", "same-email"):
        for path in ([pfile, rng.choice(people_files)] if kind == "same-email" else [pfile]):
            start, end, rid = rng.choice(records(tree[path]))
            tree[path] = tree[path][:start] + tree[path][start:end].replace(
                f"  - id: {rid}\n", f"  - id: {rid}\n    email: Shared@example.com\n", 1) + tree[path][end:]
    elif kind == "unknown-class":
        tree[group] = re.sub(r"data_classes: \[[^\]]*\]", "data_classes: [no_such_class]", tree[group])
    elif kind == "waiver" and "inventories/waivers.yaml" in tree:
        tree["inventories/waivers.yaml"] = re.sub(r"expires: \d{4}", "expires: 2099", tree["inventories/waivers.yaml"],
                                                  count=1)
    elif kind == "drop-waivers":
        tree.pop("inventories/waivers.yaml", None)
    elif kind == "yaml-error":
        tree[pfile] = tree[pfile].replace("people:\n", "people:\n  - [\n", 1)
    elif kind == "new-people-file":
        tree["inventories/people/aaa-new.yaml"] = ("people:\n  - id: fresh.person.1\n    location: US\n"
                                                   "    employment: employee\n")
    return kind


@pytest.mark.parametrize("seed", range(4))
def test_the_incremental_head_is_the_full_head_on_generated_histories(tmp_path: Path, seed: int) -> None:
    k = known()
    rng = random.Random(seed)
    base_tree = generated(tmp_path, seed=seed)
    blobs = Blobs()
    base_files = blobs.add(base_tree)
    base = full(base_tree, k)
    assert base is not None
    outcomes = {True: 0, False: 0}
    for _ in range(40):
        head_tree = dict(base_tree)
        kinds = [mutate(head_tree, rng) for _ in range(rng.choice([1, 1, 2, 3]))]
        head_files = blobs.add(head_tree)
        blobs.parsed.clear()
        made = incremental.head_from(base, base_files, head_files, blobs, k)
        expected = full(head_tree, k)
        assert (made is None) == (expected is None), kinds  # refused exactly when a full build refuses
        outcomes[expected is not None] += 1
        if made is not None and expected is not None:
            assert_same(made, expected)
            # only the files the change touched were parsed
            assert set(blobs.parsed) == {p for p, sha in head_files.items() if base_files.get(p) != sha}
            if rng.random() < 0.5:  # the history moves on: the next change starts from this head
                base_tree, base_files, base = head_tree, head_files, made
    assert outcomes[True] and outcomes[False]  # both accepted and refused heads were met


def test_an_inventory_comes_back_from_the_cache_as_built(tmp_path: Path) -> None:
    k = known()
    tree = generated(tmp_path / "org", groups=30)
    tree["inventories/people/zz-identity.yaml"] = (
        "people:\n  - id: ident.one\n    email: one@example.com\n    location: US\n    employment: employee\n"
        "    accounts:\n      slack: U123\n")
    built = full(tree, k)
    assert built is not None
    cache = Cache(tmp_path / "cache")
    key = incremental.key(listing(tree).items(), k)
    assert incremental.get(cache, key) is None
    incremental.put(cache, key, built)
    back = incremental.get(cache, key)
    assert back is not None
    assert_same(back, built)
    assert back.people["ident.one"].accounts == {"slack": "U123"}
    cache.close()


def test_the_cache_key_moves_with_files_and_what_references_resolve_against(tmp_path: Path) -> None:
    k = known()
    files = {"inventories/a.yaml": "1" * 40, "inventories/b.yaml": "2" * 40}
    key = incremental.key(files.items(), k)
    assert incremental.key(reversed(list(files.items())), k) == key
    assert incremental.key({**files, "inventories/b.yaml": "3" * 40}.items(), k) != key
    assert incremental.key({"inventories/c.yaml": "1" * 40, "inventories/b.yaml": "2" * 40}.items(), k) != key
    assert incremental.key(files.items(), Known(k.data_classes | {"x"}, k.jurisdictions, k.rule_ids)) != key
    assert incremental.key(files.items(), Known(k.data_classes, k.jurisdictions, None)) != key
