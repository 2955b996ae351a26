"""`checker audit`: every group of the organisation, as of a date."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checker import pipeline
from checker.commands import emit, engine_for
from checker.models import RunResult

if TYPE_CHECKING:
    from checker.cli import Options


def run(options: Options) -> int:
    policy_set = pipeline.load_policies(options.policies)
    inv = pipeline.load_inventory(options.inventories, policy_set)
    with engine_for(options, policy_set) as engine:
        findings = pipeline.findings(engine, inv, options.as_of, policy_set.rules)
        info = engine.info
    result = RunResult("audit", options.as_of, info, len(inv.groups), len(inv.people), tuple(findings),
                       policy_set.rules)
    return emit(options, result)
