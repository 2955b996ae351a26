"""Command line: click group and options only; the commands live in checker.commands."""

from __future__ import annotations

import dataclasses
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
from checker.escapes import escape_controls
from checker.models import FAIL_ON
from checker.platforms import CONNECTORS
from checker.report import COLOR_CHOICES, FORMATS


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
    @click.option("--markdown-max-bytes", type=click.IntRange(1_000, 1_000_000), default=60_000, show_default=True,
                  help="markdown: table rows take at most this many bytes, the rest counted (the default fits a "
                       "pull-request comment; 1000000 a job summary, which GitHub takes up to 1 MiB).")
    @click.option("--link-base", metavar="URL", default=None,
                  help="html: links to files are URL + path (default: the repository's remote at the commit).")
    @click.option("--color", type=click.Choice(COLOR_CHOICES), default="auto", show_default=True,
                  help="Colour in the table report; auto: on a terminal, unless NO_COLOR is set.")
    @functools.wraps(func)
    def wrapper(inventories: Path, policies: Path, as_of: str, engine: str, opa_urls: tuple[str, ...],
                opa_token: str | None, format_: str, output: str | None, fail_on: str, jobs: int,
                no_cache: bool, sarif_max_results: int, markdown_max_bytes: int, link_base: str | None, color: str,
                **kwargs: Any) -> None:
        urls = tuple(u for url in opa_urls for u in url.split())
        options = Options(inventories, policies, as_of, engine, urls, opa_token, format_, output, fail_on,
                          jobs, not no_cache, sarif_max_results=sarif_max_results,
                          markdown_max_bytes=markdown_max_bytes, link_base=link_base, color=color)
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
        for problem in exc.problems:  # file names and messages are data: never raw on a terminal or CI log
            click.echo(f"checker: error: {escape_controls(str(problem))}", err=True)
        click.echo("checker: the run could not be completed (exit 2)", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("checker: interrupted", err=True)
        return 130
    except Exception as exc:  # fail closed: an unexpected error never reads as a pass
        report_problems(options, [Problem("", None, f"internal error: {type(exc).__name__}: {exc}")])
        click.echo(_traceback(exc), err=True)
        click.echo("checker: internal error; the run could not be completed (exit 2)", err=True)
        return 2


def _traceback(exc: BaseException) -> str:
    """The traceback, its exception messages escaped: they may quote file names and inventory text. The
    frames are checker's own code and stay as Python prints them."""
    chain: list[traceback.TracebackException] = []
    link: traceback.TracebackException | None = traceback.TracebackException.from_exception(exc)
    while link is not None:
        chain.append(link)
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    parts = []
    for entry in reversed(chain):
        parts.append("Traceback (most recent call last):\n" + "".join(entry.stack.format())
                     + escape_controls("".join(entry.format_exception_only()).rstrip("\n")))
    return "\n\nwhich led to\n\n".join(parts)


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
@click.option("--observed", "observed", multiple=True, type=click.Path(path_type=Path), metavar="SNAPSHOT",
              help="Judge what a platform really holds: a `checker snapshot` file (repeatable, one per platform).")
@click.option("--max-snapshot-age", type=click.IntRange(min=0), default=7, show_default=True, metavar="DAYS",
              help="Oldest snapshot accepted, in days before --as-of.")
def audit(options: Options, history_since: str | None, history_step: str, observed: tuple[Path, ...],
          max_snapshot_age: int) -> int:
    """Evaluate every group: the periodic org-wide run."""
    from checker.commands.audit import run

    return run(options, history_since=history_since, history_step=history_step, observed=observed,
               max_snapshot_age=max_snapshot_age)


@main.command()
@common_options
@click.option("--base", required=True, help="The branch the change merges into.")
@click.option("--head", default="HEAD", show_default=True,
              help="The change: a git ref, or WORKTREE for the work tree as it is (uncommitted changes included).")
@click.option("--repo", type=click.Path(path_type=Path), default=Path("."), show_default=True)
@click.option("--bootstrap", is_flag=True,
              help="The base has no policies yet (the change adds them): let the head's policies judge.")
@click.option("--accept-new-waivers", is_flag=True,
              help="Waivers the change adds or extends suppress the findings it introduces.")
@click.option("--show-unchanged", is_flag=True, help="Table report: list unchanged findings, not only count them.")
def diff(options: Options, base: str, head: str, repo: Path, bootstrap: bool, accept_new_waivers: bool,
         show_unchanged: bool) -> int:
    """Pre-merge check: findings the head introduces or resolves against the merge base."""
    from checker.commands.diff import run

    return run(dataclasses.replace(options, show_unchanged=show_unchanged), base=base, head=head, repo=repo,
               bootstrap=bootstrap, accept_new_waivers=accept_new_waivers)


@main.command("test")
@common_options
@click.option("--coverage", "coverage", type=click.FloatRange(0, 100), default=None,
              help="Fail below this coverage percentage (engines that report coverage).")
@click.option("-v", "--verbose", is_flag=True, help="A line for every test, not only failures.")
def test_command(options: Options, coverage: float | None, verbose: bool) -> int:
    """Run the policy tests: table-driven cases, and *_test.rego on engines that can."""
    from checker.commands.test import run

    return run(options, coverage=coverage, verbose=verbose)


@main.command()
@common_options
@click.option("--platform", required=True, type=click.Choice(sorted(CONNECTORS)), help="Which platform to read.")
@click.option("--api-url", help="Another API root (Feishu: https://open.feishu.cn, a proxy, a test server).")
@click.option("--subject", metavar="ADMIN_EMAIL", help="Google: the admin to act as (domain-wide delegation).")
@click.option("--owners", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="JSON {group id: owner account}, where the platform knows only a creator (Slack).")
@click.option("--max-wait", type=click.FloatRange(min=0), default=300, show_default=True, metavar="SECONDS",
              help="The most time spent waiting out rate limits, in total.")
def snapshot(options: Options, platform: str, api_url: str | None, subject: str | None, owners: Path | None,
             max_wait: float) -> int:
    """Read what a platform holds now and write it as a snapshot (--output FILE)."""
    from checker.commands.snapshot import run

    return run(options, platform, api_url, subject, owners, max_wait)


@main.group("cache")
def cache_group() -> None:
    """The result cache (CHECKER_CACHE_DIR)."""


@cache_group.command("prune")
@click.option("--older-than", "older_than_days", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Drop entries written more than this many days ago (0: all).")
def cache_prune(older_than_days: float) -> None:
    """Drop old entries (and other checker versions') and shrink the cache file."""
    from checker.commands.cache_prune import run

    sys.exit(run(older_than_days))


@main.command("import")
@common_options
@click.option("--snapshot", "snapshot_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              metavar="FILE", help="The snapshot whose state the inventory should take.")
@click.option("--dry-run", is_flag=True, help="Print the changes as a unified diff; write nothing.")
def import_command(options: Options, snapshot_path: Path, dry_run: bool) -> int:
    """Rewrite the inventory's YAML to match a snapshot, keeping its comments and layout."""
    from checker.commands.import_ import run

    return run(options, snapshot_path, dry_run)
