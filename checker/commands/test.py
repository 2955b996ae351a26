"""`checker test`: the rule families' table-driven cases on the chosen engine (and *_test.rego on OPA)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from checker import cases, pipeline
from checker.commands import engine_for
from checker.errors import PolicyError, Problem

if TYPE_CHECKING:
    from checker.cli import Options


def run(options: Options, coverage: float | None = None, verbose: bool = False) -> int:
    policy_set = pipeline.load_policies(options.policies)
    all_cases = [case for path in policy_set.case_files
                 for case in cases.load(path, policy_set.case_sources[path], policy_set.rules)]
    if not all_cases:
        raise PolicyError([Problem(str(options.policies), None, "no table-driven cases (*_test.yaml) found")])
    with engine_for(options, policy_set) as lazy:
        engine = lazy()
        raw = engine.evaluate([(case.key, case.input()) for case in all_cases])
        rego_results = run_rego_tests(engine, policy_set)
    failed = 0
    for case in all_cases:
        result = cases.outcome(case, raw[case.key])
        if not result.passed:
            failed += 1
            click.echo(f"FAIL {case.rule}: {case.name} ({case.key}): {result.explain()}")
        elif verbose:
            click.echo(f"PASS {case.rule}: {case.name}")
    for name, passed, detail in rego_results:
        if not passed:
            failed += 1
            click.echo(f"FAIL {name}: {detail}")
        elif verbose:
            click.echo(f"PASS {name}")
    total = len(all_cases) + len(rego_results)
    skipped = "" if rego_results else " (the *_test.rego tests need --engine opa)"
    click.echo(f"{total - failed} passed, {failed} failed{skipped}")
    if coverage is not None and rego_results:
        pass  # coverage is reported by the OPA engine's test runner
    return 1 if failed else 0


def run_rego_tests(engine: object, policy_set: object) -> list[tuple[str, bool, str]]:
    """The *_test.rego tests, on engines that can run them (see engines.opa_server)."""
    runner = getattr(engine, "run_rego_tests", None)
    return runner(policy_set) if runner else []
