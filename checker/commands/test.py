"""`checker test`: the rule families' table-driven cases on the chosen engine (and *_test.rego on OPA)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import click

from checker import cases, pipeline
from checker.commands import emit, engine_for
from checker.errors import CheckerError, PolicyError, Problem
from checker.models import Finding, Location, RunResult

if TYPE_CHECKING:
    from checker.commands.options import Options


def run(options: Options, coverage: float | None = None, verbose: bool = False) -> int:
    policy_set = pipeline.load_policies(options.policies)
    all_cases = [case for path in policy_set.case_files
                 for case in cases.load(path, policy_set.case_sources[path], policy_set.rules)]
    if not all_cases:
        raise PolicyError([Problem(str(options.policies), None, "no table-driven cases (*_test.yaml) found")])
    cases.check_unique(all_cases)
    with engine_for(options, policy_set) as lazy:
        engine = lazy()
        raw = {}
        for scope in sorted({case.scope for case in all_cases}):
            raw.update(engine.evaluate([(c.key, c.input()) for c in all_cases if c.scope == scope], scope))
        rego_results = run_rego_tests(engine, policy_set)
        percent = measure_coverage(engine, policy_set) if coverage is not None else None
        info = engine.info
    failed = 0
    failures: list[Finding] = []  # for the formats other than table: a failing test is a deny finding
    to_stderr = options.format != "table"
    for case in all_cases:
        result = cases.outcome(case, raw[case.key])
        if not result.passed:
            failed += 1
            click.echo(f"FAIL {case.rule}: {case.name} ({case.where}): {result.explain()}", err=to_stderr)
            failures.append(Finding(case.rule, "deny", case.name, None, f"test failed: {result.explain()}",
                                    Location(case.file, case.line)))
        elif verbose:
            click.echo(f"PASS {case.rule}: {case.name}", err=to_stderr)
    for name, passed, detail in rego_results:
        if not passed:
            failed += 1
            click.echo(f"FAIL {name}: {detail}", err=to_stderr)
            failures.append(Finding(name, "deny", name, None, f"test failed: {detail}"))
        elif verbose:
            click.echo(f"PASS {name}", err=to_stderr)
    total = len(all_cases) + len(rego_results)
    skipped = "" if rego_results else " (the *_test.rego tests need --engine opa)"
    click.echo(f"{total - failed} passed, {failed} failed{skipped}", err=to_stderr)
    below = False
    if percent is not None and coverage is not None:
        line, below = coverage_verdict(percent, coverage)
        click.echo(line, err=to_stderr)
    if to_stderr:  # SPEC §6: test honours --format and --output; a failing test fails whatever --fail-on says
        emit(options, RunResult("test", options.as_of, info, total, 0,
                                tuple(failures), policy_set.rules, fail_on=options.fail_on))
    return 1 if failed or below else 0


def coverage_verdict(percent: float, threshold: float) -> tuple[str, bool]:
    """The coverage line, and whether it is below the threshold. Compared unrounded, and printed
    without rounding up: 99.95% neither meets nor prints as 100%."""
    below = percent < threshold
    shown = math.floor(percent * 100) / 100
    return (f"coverage: {shown:.2f}% of policy lines (threshold {threshold:g}%)"
            + (" — below the threshold" if below else "")), below


def run_rego_tests(engine: object, policy_set: object) -> list[tuple[str, bool, str]]:
    """The *_test.rego tests, on engines that can run them (see engines.opa.rego_tests)."""
    runner = getattr(engine, "run_rego_tests", None)
    return runner(policy_set) if runner else []


def measure_coverage(engine: object, policy_set: object) -> float:
    """The engine's test coverage; an engine that cannot measure it fails the run (a gate that was
    asked for must not pass unmeasured)."""
    measure = getattr(engine, "coverage", None)
    if measure is None:
        raise CheckerError("--coverage needs an engine that reports test coverage: use --engine opa")
    return float(measure(policy_set))
