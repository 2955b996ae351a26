"""`checker validate`: inventory and policies are well formed; nothing is evaluated."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from checker import pipeline
from checker.commands import cache_for, emit, engine_for
from checker.models import RunResult

if TYPE_CHECKING:
    from checker.commands.options import Options


def run(options: Options) -> int:
    policy_set = pipeline.load_policies(options.policies)
    with cache_for(options) as cache:
        inv = pipeline.load_inventory(options.inventories, policy_set, cache=cache, jobs=options.jobs)
    with engine_for(options, policy_set) as engine:
        engine()  # compiles the policies and checks what the engine supports
        name = f"{engine.info.name} {engine.info.version}"
        info = engine.info
    ok = (f"ok: {len(inv.files)} inventory files ({len(inv.people)} people, {len(inv.groups)} groups, "
          f"{len(inv.waivers)} waivers); {len(policy_set.modules)} policy modules, "
          f"{len(policy_set.rules)} rules; engine {name}")
    if options.format != "table":  # SPEC §6: the report in the chosen format, the ok line beside it
        click.echo(ok, err=True)
        return emit(options, RunResult("validate", options.as_of, info, len(inv.groups), len(inv.people), (),
                                       policy_set.rules, fail_on=options.fail_on))
    click.echo(ok)
    return 0
