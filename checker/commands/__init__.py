"""One module per command; each `run(options, ...) -> int` returns the exit code."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from checker import report, timings
from checker.cache import Cache, NoCache, default_dir
from checker.engines import EngineOptions, LazyEngine
from checker.errors import CheckerError
from checker.models import RunResult
from checker.policies import PolicySet

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
    if options.output in (None, "-"):
        yield sys.stdout
        return
    try:
        handle = open(options.output, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise CheckerError(f"--output {options.output}: cannot write it: {exc.strerror or exc}") from None
    with handle:
        yield handle


def emit(options: Options, result: RunResult) -> int:
    """Render the finished result and return its exit code (the reporter never decides it)."""
    result = dataclasses.replace(result, fail_on=options.fail_on)  # what reports say fails the run
    render = report.get(options.format, report.Display(options.color, options.show_unchanged))
    try:
        with timings.phase(f"report ({options.format})"), output_stream(options) as stream:
            render(result, stream)
            stream.flush()
    except BrokenPipeError:
        if options.output not in (None, "-"):
            raise
        # The reader left (`checker audit | head`): the run is complete and its verdict stands, as with
        # grep and ruff. Standard output goes nowhere from now on, so the exit flush cannot fail either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return result.exit_code(options.fail_on)
