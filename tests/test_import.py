"""`checker import`: exact unified diffs on inventories with comments, flow lists and odd layouts;
untouched lines byte-identical; --dry-run and failed imports write nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from checker import snapshot
from checker.snapshot import Snapshot, SnapshotGroup, SnapshotPerson
from tests.conftest import ROOT, run_checker

PEOPLE = """\
# Staff.   Odd spacing and comments must survive.
people:
  - id: mei.chen          # owner of most things
    location: US
    employment: employee
    email: Mei.Chen@Example.com
  - id: li.wei
    location: CN
    employment: employee
    accounts: {lark: ou_li}
  - {id: ana.ruiz, location: US, employment: employee, accounts: {lark: ou_ana}}
  - id: 'bo.yang'
    location: US
    employment: contractor
    accounts:
      lark: ou_bo
"""

BLOCK = """\
groups:
  # a block list, members before owner, a quoted owner, comments between items
  - id: block-chat
    platform: feishu
    external_id: oc_block
    members:
      - mei.chen   # founding member
      # li.wei joined for the migration
      - li.wei
      - 'bo.yang'
    owner: "mei.chen"
    kind: chat
"""

FLOW = "groups:\r\n  - id: flow-chat\r\n    platform: lark\r\n    kind: chat\r\n    owner: li.wei\r\n" \
       "    external_id: \"oc_flow\"\r\n    members: [li.wei, mei.chen]   # keep this comment\r\n"

MULTILINE = """\
groups:
  - id: multi-line
    platform: lark
    kind: chat
    owner: ana.ruiz
    external_id: oc_multi
    members: [
      ana.ruiz,
      bo.yang,
    ]
    data_classes: [internal]
    description: >-
      A folded description
      over two lines.
"""

UNTOUCHED = """\
groups:
  - id: untouched
    platform: lark
    kind: chat
    owner: li.wei
    members: [li.wei]
"""

ACCOUNTS = {"mei.chen": "ou_mei", "li.wei": "ou_li", "ana.ruiz": "ou_ana", "bo.yang": "ou_bo"}


def make_repo(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    inv = tmp_path / "inventories"
    (inv / "people").mkdir(parents=True)
    (inv / "groups").mkdir()
    (inv / "people" / "staff.yaml").write_text(PEOPLE)
    (inv / "groups" / "block.yaml").write_text(BLOCK)
    (inv / "groups" / "flow.yml").write_bytes(FLOW.encode())
    (inv / "groups" / "multi.yaml").write_text(MULTILINE)
    (inv / "groups" / "untouched.yaml").write_text(UNTOUCHED)
    return tmp_path


def person(pid: str) -> SnapshotPerson:
    email = "mei.chen@example.com" if pid == "mei.chen" else None  # mei.chen is matched by email alone
    return SnapshotPerson(ACCOUNTS[pid], email, None, None, None, "active")


def lark_snapshot(tmp_path: Path) -> Path:
    newcomer = SnapshotPerson("ou_new", "Zoe.Park+lark@example.com", "Zoe Park: reviewer", "US", None, "active")
    guest = SnapshotPerson("ou_guest", None, None, None, None, None)
    snap = Snapshot(1, "lark", "2026-11-29T06:00:00Z", {"tenant": "t"},
                    (*(person(p) for p in ACCOUNTS), newcomer, guest),
                    (SnapshotGroup("oc_block", "Block", "chat", "ou_mei", ("ou_mei", "ou_bo", "ou_new")),
                     SnapshotGroup("oc_flow", "Flow", "chat", "ou_ana", ("ou_li", "ou_mei", "ou_guest")),
                     SnapshotGroup("oc_multi", "Multi", "chat", "ou_ana", ("ou_ana",)),
                     SnapshotGroup("oc_other", "Ops: night shift #2", "chat", "ou_li", ("ou_li", "ou_new"))))
    path = tmp_path / "lark.json"
    snapshot.write(snap, path)
    return path


EXPECTED = """\
--- a/inventories/groups/block.yaml
+++ b/inventories/groups/block.yaml
@@ -6,7 +6,7 @@
     members:
       - mei.chen   # founding member
       # li.wei joined for the migration
-      - li.wei
       - 'bo.yang'
+      - zoe.park-lark
     owner: "mei.chen"
     kind: chat
--- a/inventories/groups/flow.yml
+++ b/inventories/groups/flow.yml
@@ -2,6 +2,6 @@
   - id: flow-chat\r
     platform: lark\r
     kind: chat\r
-    owner: li.wei\r
+    owner: ana.ruiz\r
     external_id: "oc_flow"\r
-    members: [li.wei, mei.chen]   # keep this comment\r
+    members: [li.wei, mei.chen, ana.ruiz, lark-ou_guest]   # keep this comment\r
--- /dev/null
+++ b/inventories/groups/lark/ops-night-shift-2.yaml
@@ -0,0 +1,13 @@
+# Found on lark (snapshot of 2026-11-29T06:00:00Z) with no inventory counterpart.
+# Declare the classes of data it holds, and its subject jurisdictions where it holds sensitive data.
+groups:
+  - id: lark-ops-night-shift-2
+    platform: lark
+    external_id: oc_other
+    kind: chat
+    owner: li.wei
+    members:
+      - li.wei
+      - zoe.park-lark
+    data_classes: []
+    description: "Ops: night shift #2"
--- a/inventories/groups/multi.yaml
+++ b/inventories/groups/multi.yaml
@@ -4,10 +4,7 @@
     kind: chat
     owner: ana.ruiz
     external_id: oc_multi
-    members: [
-      ana.ruiz,
-      bo.yang,
-    ]
+    members: [ana.ruiz]
     data_classes: [internal]
     description: >-
       A folded description
--- /dev/null
+++ b/inventories/people/imported-lark.yaml
@@ -0,0 +1,11 @@
+# People found on lark whom no inventory record matched (checker import).
+# Where the platform does not say, location and employment are left out on purpose:
+# `checker validate` fails until someone who knows declares them.
+people:
+  - id: zoe.park-lark
+    name: "Zoe Park: reviewer"
+    location: US
+    email: Zoe.Park+lark@example.com
+    accounts: {lark: ou_new}
+  - id: lark-ou_guest
+    accounts: {lark: ou_guest}
"""


def snapshot_of_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_dry_run_prints_the_exact_diff_and_writes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    snap = lark_snapshot(tmp_path)
    before = snapshot_of_files(repo / "inventories")
    out = tmp_path / "changes.diff"  # a file, so the CRLF file's line ends arrive as they are
    done = run_checker("import", "--snapshot", str(snap), "--dry-run", "--no-cache", "--output", str(out), cwd=repo)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().decode() == EXPECTED
    assert snapshot_of_files(repo / "inventories") == before


def test_import_writes_what_the_dry_run_showed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    snap = lark_snapshot(tmp_path)
    done = run_checker("import", "--snapshot", str(snap), "--no-cache", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "3 groups changed, 1 new groups, 2 new people; 5 files written" in done.stderr
    inv = repo / "inventories"
    assert (inv / "groups" / "untouched.yaml").read_text() == UNTOUCHED
    assert (inv / "people" / "staff.yaml").read_text() == PEOPLE
    flow = (inv / "groups" / "flow.yml").read_bytes().decode()
    assert flow == FLOW.replace("owner: li.wei", "owner: ana.ruiz").replace(
        "[li.wei, mei.chen]", "[li.wei, mei.chen, ana.ruiz, lark-ou_guest]")
    assert not [p for p in inv.rglob("*") if p.name.startswith(".")]  # no temporary files left
    # validate names what import refused to invent, and nothing else
    check = run_checker("validate", "--no-cache", cwd=repo)
    assert check.returncode == 2
    errors = [line for line in check.stderr.splitlines() if line.startswith("checker: error:")]
    # (the file that lacks them is not used, so the references to its people fail too)
    assert [e for e in errors if "is not a known person" not in e] == [
        "checker: error: inventories/people/imported-lark.yaml:5: missing required field 'employment' in people[0]",
        "checker: error: inventories/people/imported-lark.yaml:10: missing required field 'location' in people[1]",
    ]


def test_after_import_the_platform_and_the_inventory_agree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    snap = lark_snapshot(tmp_path)
    assert run_checker("import", "--snapshot", str(snap), "--no-cache", cwd=repo).returncode == 0
    imported = repo / "inventories" / "people" / "imported-lark.yaml"
    imported.write_text(imported.read_text().replace("    location: US\n", "    location: US\n    employment: vendor\n")
                        .replace("  - id: lark-ou_guest\n", "  - id: lark-ou_guest\n    location: GB\n"
                                 "    employment: vendor\n"))
    done = run_checker("audit", "--as-of", "2026-11-30", "--observed", str(snap), "--format", "json", "--no-cache",
                       cwd=repo)
    assert done.returncode in (0, 1), done.stderr
    assert '"rule": "drift-' not in done.stdout


def test_a_failed_import_writes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    snap = lark_snapshot(tmp_path)
    people = repo / "inventories" / "people" / "imported-lark.yaml"
    people.write_text("people: []\ngroups: []\n")  # cannot be appended to: people is not its last key
    before = snapshot_of_files(repo / "inventories")
    done = run_checker("import", "--snapshot", str(snap), "--no-cache", cwd=repo)
    assert done.returncode == 2
    assert "imported-lark.yaml: cannot append to it: `people` must be its last key, a block list" in done.stderr
    assert snapshot_of_files(repo / "inventories") == before


def test_a_bad_snapshot_writes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 2}')
    before = snapshot_of_files(repo / "inventories")
    done = run_checker("import", "--snapshot", str(bad), "--no-cache", cwd=repo)
    assert done.returncode == 2 and "bad.json: /version: snapshot version 2 is not supported" in done.stderr
    assert snapshot_of_files(repo / "inventories") == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_folder_writes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    snap = lark_snapshot(tmp_path)
    (repo / "inventories" / "people").chmod(0o555)
    before = snapshot_of_files(repo / "inventories")
    try:
        done = run_checker("import", "--snapshot", str(snap), "--no-cache", cwd=repo)
    finally:
        (repo / "inventories" / "people").chmod(0o755)
    assert done.returncode == 2
    assert snapshot_of_files(repo / "inventories") == before
