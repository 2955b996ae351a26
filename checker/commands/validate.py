"""`checker validate`: inventory and policies are well formed; nothing is evaluated."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from checker import pipeline
from checker.commands import engine_for

if TYPE_CHECKING:
    from checker.cli import Options


def run(options: Options) -> int:
    policy_set = pipeline.load_policies(options.policies)
    inv = pipeline.load_inventory(options.inventories, policy_set)
    with engine_for(options, policy_set) as engine:  # compiles the policies, checks engine capabilities
        name = f"{engine.info.name} {engine.info.version}"
    click.echo(f"ok: {len(inv.files)} inventory files ({len(inv.people)} people, {len(inv.groups)} groups, "
               f"{len(inv.waivers)} waivers); {len(policy_set.modules)} policy modules, "
               f"{len(policy_set.rules)} rules; engine {name}")
    return 0
