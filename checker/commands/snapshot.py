"""`checker snapshot --platform P --output FILE`: what a platform holds now, as a SPEC §8 snapshot file.

Credentials come from the environment only, and never appear in output: errors name the API
call and the platform's error code, not the request.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from checker import snapshot
from checker.errors import CheckerError
from checker.platforms import ConnectorSettings, connector

if TYPE_CHECKING:
    from checker.commands.options import Options


def run(options: Options, platform: str, api_url: str | None, subject: str | None, owners: Path | None,
        max_wait: float) -> int:
    if options.output in (None, "-"):
        raise CheckerError("checker snapshot needs --output FILE: the snapshot is written whole or not at all")
    settings = ConnectorSettings(os.environ, api_url, subject, max_wait, _owners(owners))
    made = connector(platform).read(settings)
    snapshot.write(made, Path(options.output))
    members = sum(len(g.members) for g in made.groups)
    click.echo(f"checker: {options.output}: {platform} snapshot of {len(made.groups)} groups, {len(made.people)} "
               f"accounts, {members} memberships" + "".join(f"; {n}" for n in made.notes), err=True)
    return 0


def _owners(path: Path | None) -> dict[str, str]:
    """A JSON object {group external id: owner account} for platforms whose owner is only a creator (Slack)."""
    if path is None:
        return {}
    try:
        value = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckerError(f"--owners {path}: cannot read it as JSON: {exc}") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise CheckerError(f"--owners {path}: expected a JSON object of group id -> owner account id")
    return value
