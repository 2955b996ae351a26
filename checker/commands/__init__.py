"""One module per command; each `run(options, ...) -> int` returns the exit code."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from checker import report, timings
from checker.cache import Cache, NoCache, default_dir
from checker.engines import EngineOptions, LazyEngine
from checker.errors import CheckerError, Problem
from checker.escapes import escape_controls
from checker.models import RunResult
from checker.policies import PolicySet
from checker.report import problems as problem_reports
from checker.report.common import web_link_base
from checker.report.markdown import MAX_BYTES_META
from checker.report.sarif import MAX_RESULTS_META

if TYPE_CHECKING:
    from checker.commands.options import Options


def engine_options(options: Options) -> EngineOptions:
    return EngineOptions(jobs=options.jobs, opa_urls=options.opa_urls, opa_token=options.opa_token,
                         progress=sys.stderr.isatty())


@contextlib.contextmanager
def engine_for(options: Options, policy_set: PolicySet) -> Iterator[LazyEngine]:
    engine = LazyEngine(options.engine, policy_set, engine_options(options))
    try:
        yield engine
    finally:
        engine.close()


@contextlib.contextmanager
def cache_for(options: Options) -> Iterator[Cache]:
    cache = Cache(default_dir()) if options.cache else NoCache()
    try:
        yield cache
    finally:
        cache.close()


@contextlib.contextmanager
def output_stream(options: Options) -> Iterator[TextIO]:
    """Standard output, or --output written whole or not at all: a temporary file beside it, renamed
    over it once the report is complete (a failed run or write leaves no partial file)."""
    if options.output in (None, "-"):
        yield sys.stdout
        return
    target = Path(options.output)
    if target.exists() and not target.is_file():  # a device or pipe (/dev/stdout): written as it is
        try:
            handle = open(target, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            raise CheckerError(f"--output {options.output}: cannot write it: {exc.strerror or exc}") from None
        try:
            with handle:
                yield handle
        except OSError as exc:
            raise CheckerError(f"--output {options.output}: cannot write it: {exc.strerror or exc}") from None
        return
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    except OSError as exc:
        raise CheckerError(f"--output {options.output}: cannot write it: {exc.strerror or exc}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except OSError as exc:
        raise CheckerError(f"--output {options.output}: cannot write it: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def report_meta(options: Options, result: RunResult) -> RunResult:
    """What the options tell the reporters beyond the result itself."""
    meta = {**result.meta, MAX_RESULTS_META: options.sarif_max_results,
            MAX_BYTES_META: options.markdown_max_bytes}
    if options.format == "html":
        base = options.link_base or default_link_base(options, result)
        if base:
            meta["source_link_base"] = base if base.endswith("/") else base + "/"
    return dataclasses.replace(result, meta=meta)


def default_link_base(options: Options, result: RunResult) -> str | None:
    """Where the report's file links point when --link-base is not given: the repository's web page
    at the commit judged (GitHub Actions says which repository; else the `origin` remote). None when
    either is unknown: the HTML report then links relative to where checker ran."""
    from checker import git

    commit = result.meta.get("head_commit") or result.meta.get("inventory_commit")
    if not isinstance(commit, str):
        return None
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    if server and repository:
        return web_link_base(f"{server}/{repository}", commit)
    folder = options.inventories if options.inventories.exists() else Path(".")
    try:
        with git.Repository(folder) as repo:
            remote = repo.remote_url()
    except CheckerError:
        return None
    return web_link_base(remote, commit) if remote else None


def emit(options: Options, result: RunResult) -> int:
    """Render the finished result and return its exit code (the reporter never decides it)."""
    result = dataclasses.replace(result, fail_on=options.fail_on)  # what reports say fails the run
    render = report.get(options.format, report.Display(options.color, options.show_unchanged))
    try:
        with timings.phase(f"report ({options.format})"), output_stream(options) as stream:
            render(report_meta(options, result), stream)
            stream.flush()
    except BrokenPipeError:
        if options.output not in (None, "-"):
            raise
        # The reader left (`checker audit | head`): the run is complete and its verdict stands, as with
        # grep and ruff. Standard output goes nowhere from now on, so the exit flush cannot fail either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return result.exit_code(options.fail_on)


def report_problems(options: Options, problems: Sequence[Problem]) -> None:
    """A run that could not be completed still writes its report, in the chosen format, to the chosen
    place (SPEC §6): the problems where the findings would have been. Never raises: the caller is
    the error funnel, and the problems are on stderr as well."""
    if options.format == "table":
        return  # stderr is the report
    context = click.get_current_context(silent=True)
    command = context.info_name if context is not None and context.info_name else "checker"
    if command == "snapshot":  # its --output is the snapshot, written whole or not at all (SPEC §8)
        options = dataclasses.replace(options, output=None)
    try:
        with output_stream(options) as stream:
            problem_reports.get(options.format)(command, problems, stream)
    except CheckerError as exc:
        for problem in exc.problems:
            click.echo(f"checker: error: {escape_controls(str(problem))}", err=True)
