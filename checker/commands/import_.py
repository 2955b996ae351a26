"""`checker import --snapshot FILE [--dry-run]`: the inventory's YAML rewritten to match a snapshot.

Every new text is checked before anything is written: it must parse and follow the schema, except
for the attributes import refuses to invent (a new person's location or employment), which
`validate` then names. All files are written to temporary files first and renamed together.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from checker import importer, inventory, pipeline, snapshot, timings
from checker.commands import cache_for, output_stream
from checker.errors import CheckerError, Problem
from checker.escapes import escape_controls
from checker.observed.match import match

if TYPE_CHECKING:
    from checker.commands.options import Options

# what a new person may lack after import: the platform did not say, and import never invents it
_LEFT_TO_DECLARE = ("missing required field 'location'", "missing required field 'employment'")


def run(options: Options, snapshot_path: Path, dry_run: bool) -> int:
    policy_set = pipeline.load_policies(options.policies)
    with cache_for(options) as cache:
        inv = pipeline.load_inventory(options.inventories, policy_set, cache=cache, jobs=options.jobs)
    file = pipeline.shown(snapshot_path)
    snap = snapshot.read(snapshot_path, file)
    with timings.phase("match and plan"):
        matching = match(inv, snap, file)
        root = pipeline.shown(options.inventories)
        the_plan = importer.plan(inv, matching, root, set(inv.files))
    touched = {e.file for e in the_plan.edits} | {g.file for g in the_plan.new_groups}
    if the_plan.new_people:
        touched.add(the_plan.people_file)
    with timings.phase(f"render {len(touched)} files"):
        before = {name: _read(name) for name in sorted(touched)}
        after = importer.render(the_plan, before)
        changed = {name: text for name, text in after.items() if text != before.get(name)}
    with timings.phase("check the new texts"):
        _check(changed)
    for note in the_plan.skipped:
        click.echo(f"checker: note: {escape_controls(str(note))}", err=True)
    if dry_run:
        with output_stream(options) as stream:
            for name in sorted(changed):
                old = before.get(name)
                stream.writelines(difflib.unified_diff(
                    (old or "").splitlines(keepends=True), changed[name].splitlines(keepends=True),
                    fromfile=f"a/{name}" if old is not None else "/dev/null", tofile=f"b/{name}"))
        return 0
    with timings.phase(f"write {len(changed)} files"):
        snapshot.replace_atomic([(Path(name), text.encode("utf-8")) for name, text in sorted(changed.items())])
    click.echo(f"checker: import from {file}: {len(the_plan.edits)} groups changed, {len(the_plan.new_groups)} "
               f"new groups, {len(the_plan.new_people)} new people; {len(changed)} files written", err=True)
    return 0


def _read(name: str) -> str | None:
    try:
        return Path(name).read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckerError([Problem(name, None, f"cannot read it for editing: {exc}")]) from None


def _check(texts: dict[str, str]) -> None:
    """Refuse to write anything that would not parse or not follow the schema (bar the undeclared attributes)."""
    problems: list[Problem] = []
    for name, text in sorted(texts.items()):
        parsed = inventory.parse_source(inventory.SourceFile(name, text.encode("utf-8")))
        problems += [p for p in parsed.problems if not p.message.startswith(_LEFT_TO_DECLARE)]
    if problems:
        raise CheckerError([*problems, Problem("", None, "import would write files that do not validate; "
                                                         "nothing was written")])
