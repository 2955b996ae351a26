"""Command line: click group and options only; the commands live in checker.commands."""

from __future__ import annotations

import datetime as dt
import functools
import gc
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from checker import __version__, dates
from checker.commands import report_problems
from checker.commands.options import Options
from checker.engines import ENGINES
from checker.errors import CheckerError, Problem
from checker.models import FAIL_ON
from checker.report import FORMATS
from checker.report.common import printable


def _as_of(_ctx: Any, _param: Any, value: str | None) -> str:
    if value is None:
        return dt.datetime.now(dt.UTC).date().isoformat()
    wrong = dates.problem(value)
    if wrong:
        raise click.BadParameter(f"{value!r} {wrong}")
    return value


def common_options(func: Callable[..., int]) -> Callable[..., None]:
    """SPEC §6 common options, on every subcommand; the wrapped command returns its exit code."""

    @click.option("--inventories", type=click.Path(path_type=Path), default=Path("inventories"),
                  show_default=True, help="Inventory folder.")
    @click.option("--policies", type=click.Path(path_type=Path), default=Path("policies"), show_default=True,
                  help="Policy folder.")
    @click.option("--as-of", "as_of", callback=_as_of, metavar="YYYY-MM-DD",
                  help="Evaluation date (default: today, UTC).")
    @click.option("--engine", type=click.Choice(ENGINES), default="embedded", show_default=True)
    @click.option("--opa-url", "opa_urls", multiple=True, envvar="CHECKER_OPA_URL",
                  help="OPA server URL (repeatable; env CHECKER_OPA_URL, space separated).")
    @click.option("--opa-token", envvar="CHECKER_OPA_TOKEN", help="Bearer token for the OPA servers.")
    @click.option("--format", "format_", type=click.Choice(list(FORMATS)), default="table", show_default=True)
    @click.option("--output", type=str, default=None, help="Write the report here (default: standard output).")
    @click.option("--fail-on", type=click.Choice(FAIL_ON), default="deny", show_default=True)
    @click.option("--jobs", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
                  help="Worker processes (default: number of cores).")
    @click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
    @click.option("--sarif-max-results", type=click.IntRange(1, 25_000), default=5_000, show_default=True,
                  help="sarif: at most this many results, most important first (GitHub shows 5,000, takes 25,000).")
    @functools.wraps(func)
    def wrapper(inventories: Path, policies: Path, as_of: str, engine: str, opa_urls: tuple[str, ...],
                opa_token: str | None, format_: str, output: str | None, fail_on: str, jobs: int,
                no_cache: bool, sarif_max_results: int, **kwargs: Any) -> None:
        urls = tuple(u for url in opa_urls for u in url.split())
        options = Options(inventories, policies, as_of, engine, urls, opa_token, format_, output, fail_on,
                          jobs, not no_cache, sarif_max_results=sarif_max_results)
        sys.exit(_run(func, options, **kwargs))

    return wrapper


def _run(func: Callable[..., int], options: Options, **kwargs: Any) -> int:
    """The one error funnel: every failure to complete the run is exit 2, with its problems on stderr."""
    # A run builds hundreds of thousands of small acyclic objects; with the default thresholds
    # the cyclic collector re-scans them over and over (a fifth of a warm 10,000-group audit).
    gc.set_threshold(100_000, 50, 100)
    try:
        return func(options, **kwargs)
    except CheckerError as exc:
        report_problems(options, exc.problems)  # in the chosen format too (SPEC §6)
        for problem in exc.problems:  # one line each: a name or message cannot forge a workflow command
            click.echo(f"checker: error: {printable(str(problem))}", err=True)
        click.echo("checker: the run could not be completed (exit 2)", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("checker: interrupted", err=True)
        return 130
    except Exception as exc:  # fail closed: an unexpected error never reads as a pass
        report_problems(options, [Problem("", None, f"internal error: {type(exc).__name__}: {exc}")])
        # The frames are checker's own code; the message may carry input: one escaped line.
        click.echo("".join(traceback.format_tb(exc.__traceback__)) + printable(f"{type(exc).__name__}: {exc}"),
                   err=True)
        click.echo("checker: internal error; the run could not be completed (exit 2)", err=True)
        return 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="checker")
def main() -> None:
    """Check group inventories against access policies written in Rego."""


@main.command()
@common_options
def validate(options: Options) -> int:
    """Check the inventory and the policies; evaluate nothing."""
    from checker.commands.validate import run

    return run(options)


@main.command()
@common_options
@click.option("--history", "history_since", metavar="SINCE",
              help="Add the compliance trend since SINCE: 90d, 12w, a date, or a git ref.")
@click.option("--history-step", type=click.Choice(["day", "week"]), default="day", show_default=True,
              help="Sample the last commit of each day or week.")
def audit(options: Options, history_since: str | None, history_step: str) -> int:
    """Evaluate every group: the periodic org-wide run."""
    from checker.commands.audit import run

    return run(options, history_since=history_since, history_step=history_step)


@main.command()
@common_options
@click.option("--base", required=True, help="The branch the change merges into.")
@click.option("--head", default="HEAD", show_default=True)
@click.option("--repo", type=click.Path(path_type=Path), default=Path("."), show_default=True)
@click.option("--bootstrap", is_flag=True,
              help="The base has no policies yet (the change adds them): let the head's policies judge.")
@click.option("--accept-new-waivers", is_flag=True,
              help="Waivers the change adds or extends suppress the findings it introduces.")
def diff(options: Options, base: str, head: str, repo: Path, bootstrap: bool, accept_new_waivers: bool) -> int:
    """Pre-merge check: findings the head introduces or resolves against the merge base."""
    from checker.commands.diff import run

    return run(options, base=base, head=head, repo=repo, bootstrap=bootstrap,
               accept_new_waivers=accept_new_waivers)


@main.command("test")
@common_options
@click.option("--coverage", "coverage", type=click.FloatRange(0, 100), default=None,
              help="Fail below this coverage percentage (engines that report coverage).")
@click.option("-v", "--verbose", is_flag=True, help="A line for every test, not only failures.")
def test_command(options: Options, coverage: float | None, verbose: bool) -> int:
    """Run the policy tests: table-driven cases, and *_test.rego on engines that can."""
    from checker.commands.test import run

    return run(options, coverage=coverage, verbose=verbose)
