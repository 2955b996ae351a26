"""`checker audit`: every group of the organisation, as of a date."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checker import pipeline
from checker.commands import cache_for, emit, engine_for
from checker.models import RunResult

if TYPE_CHECKING:
    from checker.cli import Options


def run(options: Options) -> int:
    policy_set = pipeline.load_policies(options.policies)
    with cache_for(options) as cache, engine_for(options, policy_set) as engine:
        inv = pipeline.load_inventory(options.inventories, policy_set, cache=cache, jobs=options.jobs)
        findings = pipeline.findings(engine, inv, options.as_of, policy_set.rules, cache, engine.cache_key)
        info = engine.info
    result = RunResult("audit", options.as_of, info, len(inv.groups), len(inv.people), tuple(findings),
                       policy_set.rules, fail_on=options.fail_on)
    return emit(options, result)
